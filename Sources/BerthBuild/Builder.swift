import BerthCore
import BerthDockerIgnore

/// Docker's classic builder: runs a parsed Dockerfile stage by stage, step by step, against a `BuildBackend`,
/// with a layer cache, and writes `Step N/M : …` output as `docker build` shows it.
///
/// Configuration steps (ENV, LABEL, CMD, …) change the stage's configuration and add a history entry without
/// making an image each; an image is made by each step that changes files (RUN, COPY, ADD, a WORKDIR that
/// creates its directory) and at the end of the stage. The cache key of a step chains the key of the step
/// before with what the step does (its command with the build arguments in effect, or the digest of the files
/// it copies), starting from the FROM image's ID.
public struct Builder: Sendable {
    let backend: any BuildBackend
    /// The build context on the host (extracted, `.dockerignore` applied).
    let context: String
    let options: BuildOptions
    let output: BuildOutput

    public init(backend: any BuildBackend, context: String, options: BuildOptions, output: BuildOutput) {
        self.backend = backend
        self.context = context
        self.options = options
        self.output = output
    }

    /// The state of the stage being built.
    struct StageState {
        var index: Int
        var name: String?
        /// The last image made in this stage (the FROM image at first).
        var image: BuildImage
        var config: JSONValue
        /// History entries of configuration steps since `image`.
        var pending: [JSONValue] = []
        var cacheKey: String
        /// ARGs declared in this stage, in order, with their values (nil: declared, no value).
        var args: [(String, String?)] = []
        /// CMD was set in this Dockerfile (an ENTRYPOINT then keeps it).
        var cmdSet = false
        var usedCache = true

        var shell: [String] { config["Shell"]?.stringArray ?? ["/bin/sh", "-c"] }

        var env: [String] { config["Env"]?.stringArray ?? [] }

        /// Variables for expansion: the ARGs with values, then ENV over them (ENV wins, as Docker's docs say).
        var expansionEnv: [String: String] {
            var out: [String: String] = [:]
            for (k, v) in args { if let v { out[k] = v } }
            for e in env {
                let kv = e.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                out[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
            return out
        }

        /// The build arguments a RUN sees as variables: those with values that no ENV of the same name hides.
        var runArgs: [(String, String)] {
            let envKeys = Set(env.map { String($0.split(separator: "=", maxSplits: 1)[0]) })
            return args.compactMap { k, v in v.flatMap { envKeys.contains(k) ? nil : (k, $0) } }
        }
    }

    /// Builds every stage up to the target (the last one by default), tags the result and returns it.
    public func build(_ file: Dockerfile) async throws(BerthError) -> BuildImage {
        let stages = try stagesToBuild(file)
        // Docker counts (and prints) the ARGs before the first FROM as steps too.
        let total = file.metaArgs.count + stages.reduce(0) { $0 + 1 + $1.instructions.count }
        var used: Set<String> = []
        var meta: [String: String] = [:]
        var step = 0
        for instruction in file.metaArgs {
            step += 1
            if !options.quiet { await output.write("Step \(step)/\(total) : \(instruction.original)\n") }
            guard case .arg(let defs) = try instruction.resolved(env: meta) else { continue }
            for def in defs {
                used.insert(def.name)
                if let value = buildArg(def.name) ?? def.defaultValue { meta[def.name] = value }
            }
        }
        let cacheFrom = try await cacheFromImages()
        var results: [BuildImage] = []
        var final = BuildImage.scratch
        for stage in stages {
            step += 1
            var state = try await startStage(stage, meta: meta, results: results, file: file, step: step, total: total)
            for instruction in stage.instructions {
                step += 1
                if !options.quiet { await output.write("Step \(step)/\(total) : \(instruction.original)\n") }
                try await execute(instruction, &state, results: results, file: file, used: &used, cacheFrom: cacheFrom)
            }
            if stage.index == stages.last?.index, !options.labels.isEmpty {
                var labels = state.config["Labels"]?.stringMap ?? [:]
                for (k, v) in options.labels { labels[k] = v }
                state.config["Labels"] = .map(labels)
                state.pending.append(
                    Self.history(
                        "LABEL "
                            + options.labels.keys.sorted().map { "\($0)=\(options.labels[$0] ?? "")" }.joined(
                                separator: " "), empty: true))
            }
            final = try await finish(&state, cacheFrom: cacheFrom)
            results.append(final)
        }
        let unused = options.buildArgs.keys.filter { !used.contains($0) && !Self.predefinedArgs.contains($0) }.sorted()
        if !unused.isEmpty {
            await output.write(
                "[Warning] One or more build-args [\(unused.joined(separator: " "))] were not consumed\n")
        }
        if !options.tags.isEmpty { try await backend.tag(final, as: options.tags) }
        return final
    }

    /// Arguments Docker knows without an ARG (proxies); never reported as unused.
    static let predefinedArgs: Set<String> = [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy",
        "ALL_PROXY", "all_proxy",
    ]

    func buildArg(_ name: String) -> String? {
        guard let value = options.buildArgs[name] else { return nil }
        return value
    }

    /// The stages up to `--target`, or all of them.
    func stagesToBuild(_ file: Dockerfile) throws(BerthError) -> [BuildStage] {
        guard let target = options.target, !target.isEmpty else { return file.stages }
        guard let last = file.stages.first(where: { $0.name == target.lowercased() }) else {
            throw .invalidArgument("failed to reach build target \(target) in Dockerfile")
        }
        return Array(file.stages.prefix(last.index + 1))
    }

    func cacheFromImages() async throws(BerthError) -> [BuildImage] {
        var out: [BuildImage] = []
        for name in options.cacheFrom where !name.isEmpty {
            // Images that are not there are skipped, as Docker does.
            if let image = try? await backend.resolveImage(name, platform: nil, pull: false, output: output) {
                out.append(image)
            }
        }
        return out
    }

    /// FROM: the base image (a stage before, `scratch`, or an image), then its ONBUILD triggers.
    func startStage(
        _ stage: BuildStage, meta: [String: String], results: [BuildImage], file: Dockerfile, step: Int, total: Int
    ) async throws(BerthError) -> StageState {
        if !options.quiet { await output.write("Step \(step)/\(total) : \(stage.from.original)\n") }
        guard case .from(let name, _, let platform) = try stage.from.resolved(env: meta) else {
            throw .internalError("stage \(stage.index) does not start with FROM")
        }
        let base: BuildImage
        if let earlier = file.stages.prefix(stage.index).last(where: { $0.name == name.lowercased() }) {
            base = results[earlier.index]
        } else if name.lowercased() == "scratch" {
            base = .scratch
        } else {
            base = try await backend.resolveImage(
                name, platform: platform ?? options.platform, pull: options.pull, output: output)
        }
        if !options.quiet { await output.write(" ---> \(base.isScratch ? "" : base.shortID)\n") }
        var state = StageState(
            index: stage.index, name: stage.name, image: base, config: base.config,
            cacheKey: base.isScratch ? "scratch" : base.id)
        let triggers = base.config["OnBuild"]?.stringArray ?? []
        if !triggers.isEmpty {
            state.config["OnBuild"] = .null
            if !options.quiet {
                await output.write("# Executing \(triggers.count) build trigger\(triggers.count == 1 ? "" : "s")\n")
            }
            for trigger in triggers {
                let parsed = try Dockerfile.parse("FROM scratch\n" + trigger)
                var ignored: Set<String> = []
                for instruction in parsed.stages.first?.instructions ?? [] {
                    try await execute(instruction, &state, results: results, file: file, used: &ignored, cacheFrom: [])
                }
            }
        }
        return state
    }

    /// The stage's image: its last image, or a new one when configuration steps came after it.
    func finish(_ state: inout StageState, cacheFrom: [BuildImage]) async throws(BerthError) -> BuildImage {
        let made = !state.pending.isEmpty
        if made {
            // The configuration steps at the end make one image, cached like a step of its own.
            let key = Self.chain(state.cacheKey, "#config")
            if let hit = await cached(key, state, cacheFrom: cacheFrom), hit.id != state.image.id {
                state.image = hit
            } else {
                state.image = try await backend.commitConfig(state.image, config: state.config, history: state.pending)
                await backend.remember(key: key, image: state.image)
            }
            state.pending = []
        }
        // A stage whose last step made an image has printed it already.
        if made, !options.quiet { await output.write(" ---> \(state.image.shortID)\n") }
        return state.image
    }

    /// A history entry: `created_by` as Docker's classic builder writes it.
    static func history(_ createdBy: String, empty: Bool) -> JSONValue {
        var entry: JSONValue = .object([("created_by", .string(createdBy))])
        if empty { entry["empty_layer"] = .bool(true) }
        return entry
    }

    /// The next cache key: the previous one chained with what the step does.
    static func chain(_ key: String, _ step: String) -> String {
        "sha256:" + SHA256.hash(Array((key + "\n" + step).utf8))
    }

    /// A cached image for `key`, unless `--no-cache`; with `--cache-from`, only one that leads to those images.
    func cached(_ key: String, _ state: StageState, cacheFrom: [BuildImage]) async -> BuildImage? {
        guard !options.noCache, state.usedCache else { return nil }
        let images = await backend.cachedImages(key: key)
        guard !options.cacheFrom.isEmpty else { return images.first }
        for image in images {
            for candidate in cacheFrom where await backend.isAncestor(image, of: candidate) { return image }
        }
        return nil
    }
}
