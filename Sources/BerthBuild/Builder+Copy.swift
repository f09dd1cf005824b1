import BerthCore
import BerthDockerIgnore

extension Builder {
    /// COPY and ADD: files of the context (or of a stage or image with `--from`) into the stage's image.
    func copy(
        _ t: FileTransfer, isAdd: Bool, _ instruction: Instruction, _ state: inout StageState, results: [BuildImage],
        file: Dockerfile, cacheFrom: [BuildImage]
    ) async throws(BerthError) {
        let keyword = isAdd ? "ADD" : "COPY"
        if isAdd, let url = t.sources.first(where: { $0.contains("://") || $0.hasPrefix("git@") }) {
            throw BerthError(
                .unsupported, "\(keyword) failed: sources from URLs and git are not supported by this builder: \(url)")
        }
        var sourceImage: BuildImage? = nil
        if let from = t.from, !from.isEmpty {
            if let n = Int(from) {
                guard n >= 0, n < state.index else {
                    throw .invalidArgument("\(keyword) --from=\(from): no build stage \(from) before this one")
                }
                sourceImage = results[n]
            } else if let stage = file.stages.prefix(state.index).last(where: { $0.name == from.lowercased() }) {
                sourceImage = results[stage.index]
            } else if from.lowercased() == state.name {
                throw .invalidArgument("\(keyword) --from=\(from): a stage cannot copy from itself")
            } else {
                sourceImage = try await backend.resolveImage(
                    from, platform: options.platform, pull: options.pull, output: output)
            }
        }
        let workdir = state.config["WorkingDir"]?.stringValue ?? ""
        var dest = t.destination
        if !dest.hasPrefix("/") { dest = (workdir.isEmpty ? "/" : workdir + "/") + dest }
        let digest: String
        let described: String
        if let sourceImage {
            digest = SHA256.hash(Array((sourceImage.id + "\n" + t.sources.joined(separator: "\n")).utf8))
            described = "from:\(digest)"
        } else {
            let matches = try FileCopier.matches(t.sources, in: context, keyword: keyword)
            digest = try FileCopier.digest(matches, inline: t.inlineSources)
            let single = matches.count + t.inlineSources.count == 1
            described = "\(single ? (matches.first?.isDirectory == true ? "dir" : "file") : "multi"):\(digest)"
        }
        let createdBy = "/bin/sh -c #(nop) \(keyword) \(described) in \(dest) "
        let flags = "chown=\(t.chown ?? "") chmod=\(t.chmod ?? "")"
        let key = Self.chain(state.cacheKey, createdBy + flags)
        if let hit = await cached(key, state, cacheFrom: cacheFrom) {
            adopt(hit, key: key, &state)
            if !options.quiet { await output.write(" ---> Using cache\n ---> \(hit.shortID)\n") }
            return
        }
        state.usedCache = false
        let mode = try t.chmod.map { (text) throws(BerthError) -> UInt32 in
            guard let m = UInt32(text, radix: 8), m <= 0o7777 else {
                throw .invalidArgument("\(keyword) --chmod=\(text): invalid mode (an octal number such as 755)")
            }
            return m
        }
        let request = FileCopier.Request(
            sources: t.sources, inline: t.inlineSources, destination: dest, chown: t.chown, mode: mode,
            extractArchives: isAdd && sourceImage == nil, keyword: keyword)
        let context = self.context
        let image = try await backend.modifyFilesystem(
            of: state.image, sources: sourceImage.map { [$0] } ?? [], config: state.config,
            history: state.pending + [Self.history(createdBy, empty: false)]
        ) { root, roots throws(BerthError) in
            try FileCopier.copy(request, from: roots.first ?? context, into: root)
            return true
        }
        await backend.remember(key: key, image: image)
        adopt(image, key: key, &state)
        if !options.quiet { await output.write(" ---> \(image.shortID)\n") }
    }
}
