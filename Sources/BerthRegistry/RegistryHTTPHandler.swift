import BerthCore
import BerthOS
import Glibc
import NIOCore
import NIOHTTP1

/// One connection of the registry: routes each request when its head arrives, streams upload bodies straight
/// into their files (a layer is never held in memory), and sends blobs from disk, by `sendfile` over plain HTTP
/// and in 1 MiB reads under TLS. NIO's pipelining helper keeps one request in flight per connection.
final class RegistryHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    enum Pending {
        case none
        case respond(RegistryResponse)
        case collect(limit: Int, bytes: [UInt8], overflow: Bool, finish: @Sendable ([UInt8]) -> RegistryResponse)
        case upload(UploadSession, error: RegistryError?, finish: @Sendable (RegistryError?) -> RegistryResponse)
    }

    let service: RegistryService
    let tls: Bool
    private var pending = Pending.none
    private var method = "GET"
    private var keepAlive = true

    init(service: RegistryService, tls: Bool) {
        self.service = service
        self.tls = tls
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            method = head.method.rawValue
            keepAlive = head.isKeepAlive
            let request = Self.request(head, scheme: tls ? "https" : "http")
            if head.headers["Expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                let interim = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
            switch service.plan(request) {
            case .respond(let response): pending = .respond(response)
            case .collect(let limit, let finish):
                pending = .collect(limit: limit, bytes: [], overflow: false, finish: finish)
            case .upload(let session, let finish): pending = .upload(session, error: nil, finish: finish)
            }
        case .body(let buffer):
            switch pending {
            case .collect(let limit, var bytes, let overflow, let finish):
                pending = .none
                let fits = !overflow && bytes.count + buffer.readableBytes <= limit
                if fits { bytes.append(contentsOf: buffer.readableBytesView) }
                pending = .collect(limit: limit, bytes: fits ? bytes : [], overflow: !fits, finish: finish)
            case .upload(let session, nil, let finish):
                do {
                    try buffer.withUnsafeReadableBytes { (raw) throws(RegistryError) in try session.append(raw) }
                } catch {
                    pending = .upload(session, error: error, finish: finish)
                }
            default:
                break
            }
        case .end:
            let response: RegistryResponse
            switch pending {
            case .none: response = .error(RegistryError("UNKNOWN", 500, "no request"))
            case .respond(let r): response = r
            case .collect(let limit, let bytes, let overflow, let finish):
                response = overflow ? .error(.tooLarge("a manifest may have at most \(limit) bytes")) : finish(bytes)
            case .upload(_, let error, let finish): response = finish(error)
            }
            pending = .none
            send(response, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    /// Path, `%`-decoded query and headers of a request head.
    static func request(_ head: HTTPRequestHead, scheme: String) -> RegistryRequest {
        var path = head.uri
        var query: [String: String] = [:]
        if let q = head.uri.firstIndex(of: "?") {
            path = String(head.uri[..<q])
            for pair in head.uri[head.uri.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(kv[0]).removingQueryEncoding
                query[key] = kv.count > 1 ? String(kv[1]).removingQueryEncoding : ""
            }
        }
        return RegistryRequest(
            method: head.method.rawValue, path: path, query: query, headers: head.headers.map { ($0.name, $0.value) },
            scheme: scheme)
    }

    // MARK: Responses

    private func send(_ response: RegistryResponse, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        headers.replaceOrAdd(name: "Docker-Distribution-Api-Version", value: "registry/2.0")
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        switch response.body {
        case .bytes(let bytes):
            headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
            context.write(wrapOutboundOut(.head(head(response.status, headers))), promise: nil)
            if !bytes.isEmpty, method != "HEAD" {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
            }
            end(context: context)
        case .file(let path, let offset, let length):
            headers.replaceOrAdd(name: "Content-Length", value: String(length))
            guard method != "HEAD" else {
                context.write(wrapOutboundOut(.head(head(response.status, headers))), promise: nil)
                end(context: context)
                return
            }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                // Removed by a garbage collection between the check and now.
                send(.error(.blobUnknown("sha256:" + FileSystem.basename(path))), context: context)
                return
            }
            context.write(wrapOutboundOut(.head(head(response.status, headers))), promise: nil)
            if tls {
                sendChunks(fd: fd, offset: offset, remaining: length, context: context)
            } else {
                let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
                let region = FileRegion(fileHandle: handle, readerIndex: offset, endIndex: offset + length)
                let loopSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
                let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(.body(.fileRegion(region)))).whenComplete { result in
                    try? handle.close()
                    if case .failure = result {
                        loopContext.value.close(promise: nil)
                        return
                    }
                    loopSelf.value.end(context: loopContext.value)
                }
            }
        }
    }

    /// Reads and writes 1 MiB at a time, the next read once the previous part is on its way (TLS cannot use
    /// `sendfile`).
    private func sendChunks(fd: Int32, offset: Int, remaining: Int, context: ChannelHandlerContext) {
        guard remaining > 0 else {
            close(fd)
            end(context: context)
            return
        }
        let count = min(remaining, 1 << 20)
        var buffer = context.channel.allocator.buffer(capacity: count)
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            max(0, pread(fd, raw.baseAddress, count, off_t(offset)))
        }
        guard n > 0 else {
            close(fd)
            context.close(promise: nil)
            return
        }
        let loopSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer)))).whenComplete { result in
            guard case .success = result else {
                close(fd)
                loopContext.value.close(promise: nil)
                return
            }
            loopSelf.value.sendChunks(fd: fd, offset: offset + n, remaining: remaining - n, context: loopContext.value)
        }
    }

    private func head(_ status: Int, _ headers: HTTPHeaders) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)
    }

    private func end(context: ChannelHandlerContext) {
        let keepAlive = self.keepAlive
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { loopContext.value.close(promise: nil) }
        }
    }
}
