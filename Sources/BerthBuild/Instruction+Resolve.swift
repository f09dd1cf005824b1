import BerthCore
import BerthDockerIgnore

/// Variable expansion of an instruction's arguments, for the builder.
extension Instruction {
    /// The instruction's kind with the values Docker expands replaced by their expansion in `env`.
    ///
    /// Call it when the step runs, with the environment at that point: the stage's ENV plus the ARGs declared so
    /// far (with their build-arg or default values), or the meta ARGs for a FROM. All values of one instruction
    /// see the same environment, so for `ENV abc=bye def=$abc` the builder passes the environment from before
    /// the instruction and gets `def` equal to the old `abc`.
    ///
    /// Expanded, each as one word (`ShellLex.expandWord`): FROM's image and `--platform`; COPY/ADD sources,
    /// destination, `--from`, `--chown`, `--chmod`, `--checksum` and `--exclude`, and the bodies of unquoted
    /// heredoc sources (there quotes are text and `\` escapes the next character, as in buildkit); ENV and LABEL
    /// keys and values; ARG names and defaults; WORKDIR, USER and STOPSIGNAL. EXPOSE words are expanded and split
    /// (`EXPOSE $PORTS`). VOLUME paths are expanded one by one. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD
    /// and MAINTAINER come back unchanged (ONBUILD triggers are expanded when they run in a child image).
    /// - Parameter env: variable names to values; a name absent from it is unset.
    /// - Throws: `BerthError.invalidArgument` prefixed with `line N: ` for a lexer error (an unterminated quote,
    ///   a bad `${…}`, a `${NAME:?message}` whose variable is unset) or a VOLUME that expands to nothing.
    public func resolved(env: [String: String]) throws(BerthError) -> InstructionKind {
        let lex = ShellLex(escape: escapeCharacter)
        do {
            return try resolve(kind, lex: lex, env: env)
        } catch {
            throw .invalidArgument("line \(line): \(error.message)")
        }
    }

    private func resolve(
        _ kind: InstructionKind, lex: ShellLex, env: [String: String]
    ) throws(BerthError) -> InstructionKind {
        func word(_ raw: String) throws(BerthError) -> String { try lex.expandWord(raw, env: env) }
        func optional(_ raw: String?) throws(BerthError) -> String? {
            guard let raw else { return nil }
            return try word(raw)
        }
        func pairs(_ pairs: [KeyValuePair]) throws(BerthError) -> [KeyValuePair] {
            var out: [KeyValuePair] = []
            for pair in pairs { out.append(KeyValuePair(key: try word(pair.key), value: try word(pair.value))) }
            return out
        }

        switch kind {
        case .from(let image, let stageName, let platform):
            return .from(image: try word(image), stageName: stageName, platform: try optional(platform))
        case .copy(let transfer):
            return .copy(try resolve(transfer, word: word, env: env))
        case .add(let transfer):
            return .add(try resolve(transfer, word: word, env: env))
        case .env(let list):
            return .env(try pairs(list))
        case .label(let list):
            return .label(try pairs(list))
        case .arg(let definitions):
            var out: [ArgDefinition] = []
            for definition in definitions {
                out.append(
                    ArgDefinition(name: try word(definition.name), defaultValue: try optional(definition.defaultValue)))
            }
            return .arg(out)
        case .workdir(let path): return .workdir(try word(path))
        case .user(let user): return .user(try word(user))
        case .stopSignal(let signal): return .stopSignal(try word(signal))
        case .expose(let ports):
            var out: [String] = []
            for port in ports { out += try lex.expandWords(port, env: env) }
            return .expose(out)
        case .volume(let paths):
            var out: [String] = []
            for path in paths {
                let expanded = try word(path).trimmingSpace
                guard !expanded.isEmpty else {
                    throw .invalidArgument("VOLUME specified can not be an empty string")
                }
                out.append(expanded)
            }
            return .volume(out)
        case .run, .cmd, .entrypoint, .shell, .healthcheck, .onbuild, .maintainer:
            return kind
        }
    }

    private func resolve(
        _ transfer: FileTransfer, word: (String) throws(BerthError) -> String, env: [String: String]
    ) throws(BerthError) -> FileTransfer {
        var out = transfer
        out.sources = []
        for source in transfer.sources { out.sources.append(try word(source)) }
        out.destination = try word(transfer.destination)
        if let from = transfer.from { out.from = try word(from) }
        if let chown = transfer.chown { out.chown = try word(chown) }
        if let chmod = transfer.chmod { out.chmod = try word(chmod) }
        if let checksum = transfer.checksum { out.checksum = try word(checksum) }
        out.excludes = []
        for exclude in transfer.excludes { out.excludes.append(try word(exclude)) }
        // As buildkit: quotes in a heredoc body are text; `$` expands and `\` escapes the next character.
        var bodyLex = ShellLex(escape: "\\")
        bodyLex.skipProcessQuotes = true
        for index in out.inlineSources.indices where out.inlineSources[index].expands {
            out.inlineSources[index].content = try bodyLex.expandWord(out.inlineSources[index].content, env: env)
        }
        return out
    }
}
