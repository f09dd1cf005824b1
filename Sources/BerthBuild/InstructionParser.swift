import BerthCore
import BerthDockerIgnore

/// Parses one logical Dockerfile line into an `Instruction`, with buildkit's argument rules and error wording.
///
/// Errors thrown from here carry the bare message (`COPY requires at least two arguments, …`);
/// `Dockerfile.parse(_:)` prefixes the line.
struct InstructionParser {
    let escape: Unicode.Scalar

    /// The instructions Docker knows.
    static let keywords: Set<String> = [
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
        "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    ]

    enum FlagType { case bool, string, strings }

    /// The flags each instruction accepts; any other flag is an error.
    static let flagTypes: [String: [String: FlagType]] = [
        "FROM": ["platform": .string],
        "RUN": ["mount": .strings, "network": .string, "security": .string, "device": .strings],
        "COPY": [
            "from": .string, "chown": .string, "chmod": .string, "link": .bool, "parents": .bool, "exclude": .strings,
        ],
        "ADD": [
            "chown": .string, "chmod": .string, "link": .bool, "keep-git-dir": .bool, "checksum": .string,
            "exclude": .strings, "unpack": .bool,
        ],
        "HEALTHCHECK": [
            "interval": .string, "timeout": .string, "start-period": .string, "start-interval": .string,
            "retries": .string,
        ],
    ]

    /// Whether heredoc bodies follow this line: RUN, COPY or ADD (or ONBUILD of one) not in JSON form.
    func acceptsHeredocs(_ line: String) -> Bool {
        let split = Self.split(line)
        switch split.keyword.uppercased() {
        case "RUN", "COPY", "ADD":
            // Only the shell form (`try?` also turns a JSON array of non-strings, which fails later, into nil).
            return (try? Self.jsonArray(split.arguments)) == nil
        case "ONBUILD": return acceptsHeredocs(split.arguments)
        default: return false
        }
    }

    /// Parses `line` (one logical line) into an instruction spanning lines `start...end`.
    /// - Parameter heredocs: the bodies already read for the heredocs the line introduces.
    func parse(_ line: String, start: Int, end: Int, heredocs: [Heredoc]) throws(BerthError) -> Instruction {
        let split = Self.split(line)
        let keyword = split.keyword.uppercased()
        guard Self.keywords.contains(keyword) else { throw .invalidArgument("unknown instruction: \(keyword)") }
        let flags = try parseFlags(split.flags, allowed: Self.flagTypes[keyword] ?? [:])
        // The kind is filled in below: building it uses the instruction's flag accessors.
        var instruction = Instruction(
            keyword: keyword, line: start, endLine: end, original: line.trimmingSpace, flags: flags,
            heredocs: keyword == "ONBUILD" ? [] : heredocs, kind: .maintainer(""),
            escapeCharacter: Character(escape))
        instruction.kind = try kind(keyword, split.arguments, instruction, heredocs: heredocs)
        return instruction
    }

    private func kind(
        _ keyword: String, _ args: String, _ instruction: Instruction, heredocs: [Heredoc]
    ) throws(BerthError) -> InstructionKind {
        switch keyword {
        case "FROM":
            let words = args.isEmpty ? [] : TextScan.splitLineSpace(args.scalars).map { String(scalars: $0) }
            var stageName: String?
            if words.count == 3, words[1].lowercased() == "as" {
                let name = words[2].lowercased()
                guard Self.isValidStageName(name) else {
                    throw .invalidArgument(
                        "invalid name for build stage: \(words[2].goQuoted), "
                            + "name can't start with a number or contain symbols")
                }
                stageName = name
            } else if words.count != 1 {
                throw .invalidArgument("FROM requires either one or three arguments")
            }
            return .from(image: words[0], stageName: stageName, platform: instruction.flag("platform"))
        case "RUN": return .run(try commandForm(args))
        case "CMD": return .cmd(try commandForm(args))
        case "ENTRYPOINT": return .entrypoint(try commandForm(args))
        case "SHELL":
            guard let shell = try Self.jsonArray(args) else {
                if args.isEmpty { throw .invalidArgument("SHELL requires at least one argument") }
                throw .invalidArgument("SHELL requires the arguments to be in JSON form")
            }
            guard !shell.isEmpty else { throw .invalidArgument("SHELL requires at least one argument") }
            return .shell(shell)
        case "COPY": return .copy(try fileTransfer(keyword, args, instruction, heredocs: heredocs))
        case "ADD": return .add(try fileTransfer(keyword, args, instruction, heredocs: heredocs))
        case "ENV": return .env(try keyValues(keyword, args))
        case "LABEL": return .label(try keyValues(keyword, args))
        case "ARG":
            let words = words(args)
            guard !words.isEmpty else { throw .invalidArgument("ARG requires at least one argument") }
            var definitions: [ArgDefinition] = []
            for word in words {
                guard let (name, value) = Self.splitAtEquals(word) else {
                    definitions.append(ArgDefinition(name: word))
                    continue
                }
                guard !name.isEmpty else { throw .invalidArgument("ARG names can not be blank") }
                definitions.append(ArgDefinition(name: name, defaultValue: value))
            }
            return .arg(definitions)
        case "WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER":
            guard !args.isEmpty else { throw .invalidArgument("\(keyword) requires exactly one argument") }
            switch keyword {
            case "WORKDIR": return .workdir(args)
            case "USER": return .user(args)
            case "STOPSIGNAL": return .stopSignal(args)
            default: return .maintainer(args)
            }
        case "EXPOSE":
            let ports = words(args)
            guard !ports.isEmpty else { throw .invalidArgument("EXPOSE requires at least one argument") }
            return .expose(ports)
        case "VOLUME":
            let volumes = try Self.jsonArray(args) ?? words(args)
            guard !volumes.isEmpty else { throw .invalidArgument("VOLUME requires at least one argument") }
            let trimmed = volumes.map(\.trimmingSpace)
            guard !trimmed.contains("") else {
                throw .invalidArgument("VOLUME specified can not be an empty string")
            }
            return .volume(trimmed)
        case "HEALTHCHECK": return .healthcheck(try healthcheck(args, instruction))
        default: return try onbuild(args, instruction, heredocs: heredocs)
        }
    }

    /// RUN, CMD and ENTRYPOINT: a JSON array of strings is the exec form, anything else (an invalid JSON array
    /// included) the shell form.
    func commandForm(_ args: String) throws(BerthError) -> CommandForm {
        if let exec = try Self.jsonArray(args) { return .exec(exec) }
        return .shell(args)
    }

    private func fileTransfer(
        _ keyword: String, _ args: String, _ instruction: Instruction, heredocs: [Heredoc]
    ) throws(BerthError) -> FileTransfer {
        let json = try Self.jsonArray(args)
        let words = json ?? words(args)
        guard words.count >= 2, let destination = words.last else {
            throw .invalidArgument(
                "\(keyword) requires at least two arguments, but only one was provided. "
                    + "Destination could not be determined")
        }
        if json == nil, Heredoc.marker(destination) != nil {
            throw .invalidArgument("\(keyword) cannot accept a heredoc as a destination")
        }
        var transfer = FileTransfer(sources: [], destination: destination, isJSONForm: json != nil)
        for word in words.dropLast() {
            if json == nil, let marker = Heredoc.marker(word) {
                transfer.inlineSources.append(heredocs.first { $0.name == marker.name } ?? marker)
            } else {
                transfer.sources.append(word)
            }
        }
        if keyword == "COPY" { transfer.from = instruction.flag("from") }
        if keyword == "ADD" { transfer.checksum = instruction.flag("checksum") }
        transfer.chown = instruction.flag("chown")
        transfer.chmod = instruction.flag("chmod")
        transfer.link = instruction.flag("link") == "true"
        transfer.excludes = instruction.flagValues("exclude")
        return transfer
    }

    /// ENV and LABEL: `KEY value with spaces` (legacy, one pair) or `k=v k2="v 2"` pairs.
    private func keyValues(_ keyword: String, _ args: String) throws(BerthError) -> [KeyValuePair] {
        let words = words(args)
        guard let first = words.first else { throw .invalidArgument("\(keyword) requires at least one argument") }
        guard Self.splitAtEquals(first) != nil else {
            let parts = TextScan.splitLineSpace(args.scalars, limit: 2)
            guard parts.count == 2 else { throw .invalidArgument("\(keyword) must have two arguments") }
            return [KeyValuePair(key: String(scalars: parts[0]), value: String(scalars: parts[1]))]
        }
        var pairs: [KeyValuePair] = []
        for word in words {
            guard let (key, value) = Self.splitAtEquals(word) else {
                throw .invalidArgument(
                    "Syntax error - can't find = in \(word.goQuoted). Must be of the form: name=value")
            }
            guard !key.isEmpty else { throw .invalidArgument("\(keyword) names can not be blank") }
            pairs.append(KeyValuePair(key: key, value: value))
        }
        return pairs
    }

    private func onbuild(
        _ args: String, _ instruction: Instruction, heredocs: [Heredoc]
    ) throws(BerthError) -> InstructionKind {
        guard !args.isEmpty else { throw .invalidArgument("ONBUILD requires at least one argument") }
        let trigger = Self.split(args).keyword.uppercased()
        switch trigger {
        case "ONBUILD": throw .invalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        case "FROM", "MAINTAINER": throw .invalidArgument("\(trigger) isn't allowed as an ONBUILD trigger")
        default: break
        }
        let nested = try parse(args, start: instruction.line, end: instruction.endLine, heredocs: heredocs)
        var expression = args
        for heredoc in heredocs { expression += "\n" + heredoc.content + heredoc.name }
        return .onbuild(nested, expression: expression)
    }

    /// Checks the flags against the instruction's table (buildkit's `BFlags.Parse` rules and wording).
    private func parseFlags(
        _ raw: [String], allowed: [String: FlagType]
    ) throws(BerthError) -> [InstructionFlag] {
        var flags: [InstructionFlag] = []
        for word in raw {
            guard word != "--" else { break }
            let body = String(word.unicodeScalars.dropFirst(word.hasPrefix("--") ? 2 : 0))
            let (name, value) = Self.splitAtEquals(body) ?? (body, nil)
            guard let type = allowed[name] else { throw .invalidArgument("unknown flag: \(name)") }
            if type != .strings, flags.contains(where: { $0.name == name }) {
                throw .invalidArgument("duplicate flag specified: \(name)")
            }
            switch type {
            case .bool:
                if value == "" { throw .invalidArgument("missing a value on flag: \(name)") }
                let lower = value?.lowercased()
                guard lower == nil || lower == "true" || lower == "false" else {
                    throw .invalidArgument("expecting boolean value for flag \(name), not: \(value ?? "")")
                }
                flags.append(InstructionFlag(name: name, value: lower))
            case .string, .strings:
                guard let value else { throw .invalidArgument("missing a value on flag: \(name)") }
                flags.append(InstructionFlag(name: name, value: value))
            }
        }
        return flags
    }

    /// `name=value` split at the first `=`, or nil without one.
    static func splitAtEquals(_ word: String) -> (String, String)? {
        let scalars = word.unicodeScalars
        guard let index = scalars.firstIndex(of: "=") else { return nil }
        return (String(scalars[..<index]), String(scalars[scalars.index(after: index)...]))
    }

    /// Docker's `^[a-z][a-z0-9-_.]*$`.
    static func isValidStageName(_ name: String) -> Bool {
        let s = name.scalars
        guard let first = s.first, first.value >= 0x61, first.value <= 0x7A else { return false }
        return s.allSatisfy {
            ($0.value >= 0x61 && $0.value <= 0x7A) || $0.isASCIIDigit || "-_.".unicodeScalars.contains($0)
        }
    }
}
