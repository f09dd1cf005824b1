import BerthCore
import BerthDockerIgnore

extension Builder {
    /// One instruction of a stage (after its `Step N/M` line).
    func execute(
        _ instruction: Instruction, _ state: inout StageState, results: [BuildImage], file: Dockerfile,
        used: inout Set<String>, cacheFrom: [BuildImage]
    ) async throws(BerthError) {
        let kind = try instruction.resolved(env: state.expansionEnv)
        switch kind {
        case .from:
            throw .invalidArgument("line \(instruction.line): FROM inside a stage")
        case .arg(let defs):
            for def in defs {
                used.insert(def.name)
                let value = buildArg(def.name) ?? def.defaultValue ?? metaDefault(def.name, file: file)
                state.args.removeAll { $0.0 == def.name }
                state.args.append((def.name, value))
            }
            let text = defs.map { d in d.defaultValue.map { "\(d.name)=\($0)" } ?? d.name }.joined(separator: " ")
            await configStep(&state, "ARG \(text)", cacheFrom: cacheFrom) { _ in }
        case .env(let pairs):
            await configStep(
                &state, "ENV " + pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " "), cacheFrom: cacheFrom
            ) { config in
                var env = config["Env"]?.stringArray ?? []
                for pair in pairs {
                    env.removeAll { $0 == pair.key || $0.hasPrefix(pair.key + "=") }
                    env.append("\(pair.key)=\(pair.value)")
                }
                config["Env"] = .strings(env)
            }
        case .label(let pairs):
            await configStep(
                &state, "LABEL " + pairs.map { "\($0.key)=\($0.value)" }.joined(separator: " "), cacheFrom: cacheFrom
            ) { config in
                var labels = config["Labels"]?.stringMap ?? [:]
                for pair in pairs { labels[pair.key] = pair.value }
                config["Labels"] = .map(labels)
            }
        case .maintainer(let who):
            await configStep(&state, "MAINTAINER \(who)", cacheFrom: cacheFrom) { _ in }
        case .user(let user):
            await configStep(&state, "USER \(user)", cacheFrom: cacheFrom) { $0["User"] = .string(user) }
        case .stopSignal(let signal):
            await configStep(&state, "STOPSIGNAL \(signal)", cacheFrom: cacheFrom) {
                $0["StopSignal"] = .string(signal)
            }
        case .expose(let ports):
            var normalized: [String] = []
            for port in ports { normalized.append(try Self.exposedPort(port, line: instruction.line)) }
            await configStep(&state, "EXPOSE " + normalized.joined(separator: " "), cacheFrom: cacheFrom) { config in
                var exposed = config["ExposedPorts"] ?? .object([])
                if exposed.isNull { exposed = .object([]) }
                for port in normalized { exposed[port] = .object([]) }
                config["ExposedPorts"] = exposed
            }
        case .volume(let paths):
            await configStep(&state, "VOLUME " + JSONValue.strings(paths).serialized, cacheFrom: cacheFrom) { config in
                var volumes = config["Volumes"] ?? .object([])
                if volumes.isNull { volumes = .object([]) }
                for path in paths { volumes[path] = .object([]) }
                config["Volumes"] = volumes
            }
        case .shell(let argv):
            await configStep(&state, "SHELL " + JSONValue.strings(argv).serialized, cacheFrom: cacheFrom) {
                $0["Shell"] = .strings(argv)
            }
        case .cmd(let form):
            let argv = command(form, state)
            state.cmdSet = true
            await configStep(&state, "CMD " + JSONValue.strings(argv).serialized, cacheFrom: cacheFrom) {
                $0["Cmd"] = .strings(argv)
            }
        case .entrypoint(let form):
            let argv: [String]? = if case .shell(let text) = form, text.isEmpty { nil } else { command(form, state) }
            let keepCmd = state.cmdSet
            await configStep(&state, "ENTRYPOINT " + JSONValue.strings(argv ?? []).serialized, cacheFrom: cacheFrom) {
                config in
                config["Entrypoint"] = argv.map { .strings($0) } ?? .null
                // An ENTRYPOINT drops the CMD the base image had, not one set in this Dockerfile.
                if !keepCmd { config["Cmd"] = .null }
            }
        case .healthcheck(let check):
            await configStep(&state, "HEALTHCHECK " + check.test.joined(separator: " "), cacheFrom: cacheFrom) {
                config in
                var hc: JSONValue = .object([("Test", .strings(check.test))])
                if check.interval > 0 { hc["Interval"] = .int(check.interval) }
                if check.timeout > 0 { hc["Timeout"] = .int(check.timeout) }
                if check.startPeriod > 0 { hc["StartPeriod"] = .int(check.startPeriod) }
                if check.startInterval > 0 { hc["StartInterval"] = .int(check.startInterval) }
                if check.retries > 0 { hc["Retries"] = .int(check.retries) }
                config["Healthcheck"] = hc
            }
        case .onbuild(_, let expression):
            await configStep(&state, "ONBUILD \(expression)", cacheFrom: cacheFrom) { config in
                config["OnBuild"] = .strings((config["OnBuild"]?.stringArray ?? []) + [expression])
            }
        case .workdir(let path):
            try await workdir(path, &state, cacheFrom: cacheFrom)
        case .run(let form):
            try await run(form, instruction, &state, cacheFrom: cacheFrom)
        case .copy(let transfer):
            try await copy(
                transfer, isAdd: false, instruction, &state, results: results, file: file, cacheFrom: cacheFrom)
        case .add(let transfer):
            try await copy(
                transfer, isAdd: true, instruction, &state, results: results, file: file, cacheFrom: cacheFrom)
        }
    }

    /// A meta ARG's value for an `ARG name` in a stage without a default (the global one, as Docker does).
    func metaDefault(_ name: String, file: Dockerfile) -> String? {
        var value: String? = nil
        for instruction in file.metaArgs {
            guard case .arg(let defs) = try? instruction.resolved(env: [:]) else { continue }
            for def in defs where def.name == name { value = def.defaultValue }
        }
        return value
    }

    /// A configuration step: the change, a history entry, and the cache key moved on.
    func configStep(
        _ state: inout StageState, _ text: String, cacheFrom: [BuildImage], change: (inout JSONValue) -> Void
    ) async {
        change(&state.config)
        let createdBy = "/bin/sh -c #(nop)  " + text
        let key = Self.chain(state.cacheKey, createdBy)
        state.cacheKey = key
        state.pending.append(Self.history(createdBy, empty: true))
        if await cached(key, state, cacheFrom: cacheFrom) != nil {
            if !options.quiet { await output.write(" ---> Using cache\n") }
        } else {
            state.usedCache = false
            // A marker for the next build (the image is only a proof that the chain exists).
            await backend.remember(key: key, image: state.image)
        }
    }

    /// A command in shell or exec form as the argv Docker stores (the stage's SHELL before a shell form).
    func command(_ form: CommandForm, _ state: StageState) -> [String] {
        switch form {
        case .exec(let argv): return argv
        case .shell(let text): return state.shell + [text]
        }
    }

    /// `80`, `80/udp`, `8000-8010/tcp` → `80/tcp`, …
    static func exposedPort(_ text: String, line: Int) throws(BerthError) -> String {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        let ports = parts.first ?? ""
        let bounds = ports.split(separator: "-", maxSplits: 1)
        guard ["tcp", "udp", "sctp"].contains(proto), !bounds.isEmpty,
            bounds.allSatisfy({ UInt16($0).map { $0 > 0 } ?? false })
        else { throw .invalidArgument("line \(line): invalid containerPort: \(text)") }
        return "\(ports)/\(proto)"
    }

    /// RUN: a container of the stage's image runs the command; its changes become the next image.
    func run(_ form: CommandForm, _ instruction: Instruction, _ state: inout StageState, cacheFrom: [BuildImage])
        async throws(BerthError)
    {
        if let flag = instruction.flags.first {
            // RUN --mount, --network and --security are BuildKit's; the classic builder refuses them too.
            throw .invalidArgument("line \(instruction.line): the --\(flag.name) option requires BuildKit")
        }
        var argv = command(form, state)
        if case .shell(let text) = form, instruction.heredocs.count == 1, let doc = instruction.heredocs.first,
            text.trimmingSpace.hasPrefix("<<"), !text.trimmingSpace.contains(" ")
        {
            // `RUN <<EOF`: the heredoc is the script.
            argv = state.shell + [doc.content]
        } else if case .shell(let text) = form, !instruction.heredocs.isEmpty {
            // The shell reads the heredocs itself: the command is the line with the bodies after it.
            var script = text
            for doc in instruction.heredocs {
                script +=
                    "\n" + doc.content + (doc.content.hasSuffix("\n") || doc.content.isEmpty ? "" : "\n") + doc.name
            }
            argv = state.shell + [script]
        }
        let args = state.runArgs
        let prefix = args.isEmpty ? "" : "|\(args.count) " + args.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + " "
        let createdBy = prefix + argv.joined(separator: " ")
        let key = Self.chain(state.cacheKey, createdBy)
        if let hit = await cached(key, state, cacheFrom: cacheFrom) {
            adopt(hit, key: key, &state)
            if !options.quiet { await output.write(" ---> Using cache\n ---> \(hit.shortID)\n") }
            return
        }
        state.usedCache = false
        var env = state.env
        for (k, v) in args { env.append("\(k)=\(v)") }
        let request = BuildRunRequest(
            image: state.image, argv: argv, env: env, user: state.config["User"]?.stringValue ?? "",
            workingDir: state.config["WorkingDir"]?.stringValue ?? "", network: options.network, config: state.config,
            history: state.pending + [Self.history(createdBy, empty: false)])
        let image = try await backend.run(request, output: options.quiet ? BuildOutput { _ in } : output)
        await backend.remember(key: key, image: image)
        adopt(image, key: key, &state)
        if !options.quiet { await output.write(" ---> \(image.shortID)\n") }
    }

    /// The stage moves on to `image` (made or found in the cache by the step `key`).
    func adopt(_ image: BuildImage, key: String, _ state: inout StageState) {
        state.image = image
        state.config = image.config
        state.pending = []
        state.cacheKey = image.id
    }

    /// WORKDIR: the configuration, and the directory made in the image when it is not there.
    func workdir(_ path: String, _ state: inout StageState, cacheFrom: [BuildImage]) async throws(BerthError) {
        let current = state.config["WorkingDir"]?.stringValue ?? ""
        let target = FilePaths.clean(path.hasPrefix("/") ? path : (current.isEmpty ? "/" : current) + "/" + path)
        state.config["WorkingDir"] = .string(target)
        let createdBy = "/bin/sh -c #(nop) WORKDIR \(target)"
        let key = Self.chain(state.cacheKey, createdBy)
        if let hit = await cached(key, state, cacheFrom: cacheFrom) {
            if hit.id == state.image.id {
                state.pending.append(Self.history(createdBy, empty: true))
                state.cacheKey = key
            } else {
                adopt(hit, key: key, &state)
            }
            if !options.quiet { await output.write(" ---> Using cache\n") }
            return
        }
        state.usedCache = false
        let user = state.config["User"]?.stringValue ?? ""
        let before = state.image
        let image = try await backend.modifyFilesystem(
            of: state.image, sources: [], config: state.config,
            history: state.pending + [Self.history(createdBy, empty: false)]
        ) { root, _ throws(BerthError) in
            try FileCopier.makeDirectory(
                target, in: root, owner: user.isEmpty ? nil : try FileCopier.owner(user, in: root))
        }
        await backend.remember(key: key, image: image)
        if image.layerCount == before.layerCount {
            // Nothing to make: the directory was there.
            state.pending.append(Self.history(createdBy, empty: true))
            state.cacheKey = key
        } else {
            adopt(image, key: key, &state)
            if !options.quiet { await output.write(" ---> \(image.shortID)\n") }
        }
    }
}
