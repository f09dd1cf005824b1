import BerthCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Reads whole requests, runs them through the router one at a time per connection, and writes the response:
/// fixed, chunked stream, or a hijack that takes the connection over from HTTP.
final class APIChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let router: Router
    let logger: Logger
    let commonHeaders: [(String, String)]
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var queue: [(HTTPRequestHead, [UInt8])] = []
    private var busy = false
    private var hijacked = false

    init(router: Router, logger: Logger, commonHeaders: [(String, String)]) {
        self.router = router
        self.logger = logger
        self.commonHeaders = commonHeaders
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(var buffer):
            if let bytes = buffer.readBytes(length: buffer.readableBytes) { body.append(contentsOf: bytes) }
        case .end:
            guard let h = head else { return }
            head = nil
            queue.append((h, body))
            body = []
            processNext(context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A client that half-closes after its request still gets its answer.
        if let e = event as? ChannelEvent, e == .inputClosed, !busy, queue.isEmpty { context.close(promise: nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func processNext(context: ChannelHandlerContext) {
        guard !busy, !hijacked, !queue.isEmpty else { return }
        busy = true
        let (h, body) = queue.removeFirst()
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let loopSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        let router = self.router
        let logger = self.logger
        let eventLoop = context.eventLoop
        let method = h.method.rawValue
        let uri = h.uri
        let headers = h.headers.map { ($0.name, $0.value) }
        let keepAlive = h.isKeepAlive
        Task {
            let response = await APIChannelHandler.respond(
                router: router, logger: logger, method: method, uri: uri, headers: headers, body: body)
            eventLoop.execute {
                loopSelf.value.write(
                    response, method: method, keepAlive: keepAlive,
                    upgrade: headers.contains {
                        $0.0.lowercased() == "upgrade"
                    }, context: loopContext.value)
            }
        }
    }

    /// Routing, versioning and error mapping, off the event loop.
    static func respond(
        router: Router, logger: Logger, method: String, uri: String, headers: [(String, String)], body: [UInt8]
    ) async -> HTTPResponse {
        var path = uri
        var queryString = ""
        if let q = uri.firstIndex(of: "?") {
            path = String(uri[..<q])
            queryString = String(uri[uri.index(after: q)...])
        }
        var version = APIVersion.maximum
        if path.hasPrefix("/v"), let slash = path.dropFirst().firstIndex(of: "/") {
            let text = String(path[path.index(path.startIndex, offsetBy: 2)..<slash])
            if let v = APIVersion(text) {
                if v < APIVersion.minimum {
                    return .error(
                        .invalidArgument(
                            "client version \(v) is too old. Minimum supported API version is \(APIVersion.minimum), please upgrade your client to a newer version"
                        ))
                }
                if v > APIVersion.maximum {
                    return .error(
                        .invalidArgument(
                            "client version \(v) is too new. Maximum supported API version is \(APIVersion.maximum)"))
                }
                version = v
                path = String(path[slash...])
            }
        }
        var query: [String: [String]] = [:]
        for pair in queryString.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(kv[0]).removingQueryEncoding
            let value = kv.count > 1 ? String(kv[1]).removingQueryEncoding : ""
            query[key, default: []].append(value)
        }
        guard let (handler, params) = router.match(method: method, path: path) else {
            return .json(.object([("message", .string("page not found"))]), status: 404)
        }
        var request = HTTPRequest(
            method: method, path: path, apiVersion: version, query: query, headers: headers, body: body)
        request.params = params
        do {
            return try await handler(request)
        } catch let error as BerthError {
            if ErrorStatus.status(for: error.code) >= 500 {
                logger.error(
                    "request failed", metadata: [LogKey.request: "\(method) \(path)", LogKey.error: "\(error.message)"])
            }
            return .error(error)
        } catch {
            logger.error("request failed", metadata: [LogKey.request: "\(method) \(path)", LogKey.error: "\(error)"])
            return .error(.internalError("\(error)"))
        }
    }

    private func write(
        _ response: HTTPResponse, method: String, keepAlive: Bool, upgrade: Bool, context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders(commonHeaders)
        for (k, v) in response.headers { headers.replaceOrAdd(name: k, value: v) }
        switch response.body {
        case .bytes(let bytes):
            headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
            if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
            let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            if !bytes.isEmpty, method != "HEAD" {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
            }
            finish(context: context, keepAlive: keepAlive)
        case .stream(let produce):
            let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers)
            context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
            let writer = ChannelStreamWriter(channel: context.channel)
            let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            let loopSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            Task {
                await produce(writer)
                eventLoop.execute { loopSelf.value.finish(context: loopContext.value, keepAlive: keepAlive) }
            }
        case .hijack(let run):
            hijack(context: context, status: response.status, headers: response.headers, upgrade: upgrade, run: run)
        }
    }

    private func finish(context: ChannelHandlerContext, keepAlive: Bool) {
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let loopSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive {
                loopContext.value.close(promise: nil)
                return
            }
            loopSelf.value.busy = false
            loopSelf.value.processNext(context: loopContext.value)
        }
    }

    /// Takes the connection over: the HTTP codec leaves the pipeline and raw bytes flow both ways.
    private func hijack(
        context: ChannelHandlerContext, status: Int, headers: [(String, String)], upgrade: Bool,
        run: @escaping @Sendable (HijackedConnection) async -> Void
    ) {
        hijacked = true
        let channel = context.channel
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        let raw = RawInboundHandler(continuation: continuation)
        do {
            let ops = context.pipeline.syncOperations
            let decoder = try ops.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try ops.addHandler(raw, position: .after(decoder))
            ops.removeHandler(decoder, promise: nil)
            let encoder = try ops.handler(type: HTTPResponseEncoder.self)
            ops.removeHandler(encoder, promise: nil)
        } catch {
            context.close(promise: nil)
            return
        }
        var head = upgrade ? "HTTP/1.1 101 UPGRADED\r\n" : "HTTP/1.1 200 OK\r\n"
        for (k, v) in commonHeaders + headers { head += "\(k): \(v)\r\n" }
        if upgrade { head += "Connection: Upgrade\r\nUpgrade: tcp\r\n" }
        head += "\r\n"
        channel.writeAndFlush(channel.allocator.buffer(string: head), promise: nil)
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
        let connection = ChannelHijackedConnection(channel: channel, inbound: stream)
        Task { await run(connection) }
    }
}

/// Forwards raw bytes of a hijacked connection into an AsyncStream; half-close or close ends it.
final class RawInboundHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<[UInt8]>.Continuation

    init(continuation: AsyncStream<[UInt8]>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if let bytes = buffer.readBytes(length: buffer.readableBytes), !bytes.isEmpty { continuation.yield(bytes) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed { continuation.finish() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish()
        context.close(promise: nil)
    }
}

final class ChannelStreamWriter: StreamWriter {
    let channel: Channel
    /// The write before the last one: a stream keeps one part in flight while the next is made, no more.
    private let previous = Mutex<EventLoopFuture<Void>?>(nil)

    init(channel: Channel) { self.channel = channel }

    /// Queues `bytes` and waits for the part before them to be sent. A failed write shows at the next one.
    func write(_ bytes: [UInt8]) async throws(BerthError) {
        guard channel.isActive else { throw BerthError(.cancelled, "client disconnected") }
        let part = HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: bytes)))
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(part, promise: written)
        let before = previous.withLock { value in
            defer { value = written.futureResult }
            return value
        }
        guard let before else { return }
        do { try await before.get() } catch { throw BerthError(.cancelled, "client disconnected") }
    }

    var isClosed: Bool { !channel.isActive }

    /// Cancellable (a task group racing it against other work must be able to end it).
    func waitClosed() async {
        while channel.isActive, !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
    }
}

struct ChannelHijackedConnection: HijackedConnection {
    let channel: Channel
    let inbound: AsyncStream<[UInt8]>

    func write(_ bytes: [UInt8]) async throws(BerthError) {
        do { try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)) } catch {
            throw BerthError(.cancelled, "client disconnected")
        }
    }

    func close() async {
        try? await channel.close()
    }
}
