import BerthCore
import NIOCore

/// Splits the shim's byte stream into `(type, payload)` messages (see `ShimMessage`).
struct ShimFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ShimFrame

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= ShimMessage.headerSize,
            let type: UInt8 = buffer.getInteger(at: buffer.readerIndex),
            let length: UInt32 = buffer.getInteger(at: buffer.readerIndex + 1),
            buffer.readableBytes >= ShimMessage.headerSize + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: ShimMessage.headerSize)
        let payload = buffer.readBytes(length: Int(length)) ?? []
        context.fireChannelRead(wrapInboundOut(ShimFrame(type: type, payload: payload)))
        return .continue
    }
}

/// One message from the shim.
public struct ShimFrame: Sendable {
    public let type: UInt8
    public let payload: [UInt8]
}

/// Hands each frame to the session; reports the connection's end.
final class ShimFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ShimFrame
    let session: ShimSession

    init(session: ShimSession) { self.session = session }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        session.received(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.disconnected()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
