import BerthArchive
import BerthCore
import BerthOS
import CCurl
import Glibc

/// One HTTP exchange with libcurl's easy interface, blocking (the daemon runs it on its thread pool).
///
/// The body goes to memory, or to a file descriptor for blobs, hashed on the way so a layer is read once.
/// Redirects are followed (registries send blob downloads to their storage); only the last response's headers
/// are kept.
public struct CurlTransfer {
    public struct Response: Sendable {
        public var status: Int
        /// Header names in lower case, in the order received.
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// `sha256:<hex>` of what went to the file, when a file was given.
        public var fileDigest: String?
        public var fileBytes: Int64

        public func header(_ name: String) -> String? {
            let lower = name.lowercased()
            return headers.first { $0.0 == lower }?.1
        }
    }

    public var method = "GET"
    public var url: String
    public var headers: [String] = []
    public var body: [UInt8]? = nil
    /// Where the body goes instead of memory (appended at the current offset).
    public var outputFD: Int32 = -1
    /// A request body read from this file (from its current offset, `inputSize` bytes): blob uploads.
    public var inputFD: Int32 = -1
    public var inputSize: Int64 = 0
    /// Bytes already in the file before this transfer (a resumed download): hashed first by the caller's
    /// `hashSeed`, the transfer appends.
    public var hashSeed: FastSHA256? = nil
    /// The CA bundle to verify the registry with (`certs.d/HOST/ca.crt`).
    public var caFile: String? = nil
    /// A client certificate and its key (PEM), for servers that ask for one.
    public var certFile: String? = nil
    public var keyFile: String? = nil
    /// false: accept any server certificate (a plugin's `InsecureSkipVerify`).
    public var verifyPeer = true
    /// The whole exchange's limit (0: none; `stallSeconds` still applies).
    public var timeoutSeconds = 0
    public var connectTimeoutSeconds = 15
    /// Abort when less than 1 byte/s arrives for this long.
    public var stallSeconds = 60
    /// Bytes so far (received for downloads), for progress reports; returning false aborts the transfer.
    public var onProgress: ((Int64) -> Bool)? = nil
    /// Stop reading a body held in memory past this size (manifests, tokens).
    public var memoryLimit = 16 << 20

    public init(url: String) { self.url = url }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Runs the exchange.
    /// - Throws: `.unavailable` naming the URL for a connection, TLS or transfer failure (curl's message).
    public func perform() throws(BerthError) -> Response {
        _ = Self.globalInit
        guard let curl = curl_easy_init() else { throw .internalError("libcurl: cannot create a handle") }
        defer { curl_easy_cleanup(curl) }
        let sink = Sink(fd: outputFD, hash: hashSeed ?? (outputFD >= 0 ? FastSHA256() : nil), limit: memoryLimit)
        sink.inputFD = inputFD
        sink.inputRemaining = inputSize
        sink.onProgress = onProgress
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for h in headers { list = curl_slist_append(list, h) }
        defer { curl_slist_free_all(list) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let context = Unmanaged.passRetained(sink)
        defer { context.release() }
        let rc: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errBuf in
            _ = berth_curl_setopt_str(curl, CURLOPT_URL, url)
            _ = berth_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
            _ = berth_curl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 1)
            _ = berth_curl_setopt_long(curl, CURLOPT_MAXREDIRS, 10)
            _ = berth_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
            _ = berth_curl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
            _ = berth_curl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, stallSeconds)
            _ = berth_curl_setopt_str(curl, CURLOPT_USERAGENT, "berth")
            _ = berth_curl_setopt_ptr(curl, CURLOPT_ERRORBUFFER, errBuf.baseAddress)
            _ = berth_curl_setopt_slist(curl, CURLOPT_HTTPHEADER, list)
            if let caFile { _ = berth_curl_setopt_str(curl, CURLOPT_CAINFO, caFile) }
            if let certFile { _ = berth_curl_setopt_str(curl, CURLOPT_SSLCERT, certFile) }
            if let keyFile { _ = berth_curl_setopt_str(curl, CURLOPT_SSLKEY, keyFile) }
            if !verifyPeer {
                _ = berth_curl_setopt_long(curl, CURLOPT_SSL_VERIFYPEER, 0)
                _ = berth_curl_setopt_long(curl, CURLOPT_SSL_VERIFYHOST, 0)
            }
            if timeoutSeconds > 0 { _ = berth_curl_setopt_long(curl, CURLOPT_TIMEOUT, timeoutSeconds) }
            _ = berth_curl_setopt_datafn(curl, CURLOPT_WRITEFUNCTION, curlWrite)
            _ = berth_curl_setopt_ptr(curl, CURLOPT_WRITEDATA, context.toOpaque())
            _ = berth_curl_setopt_datafn(curl, CURLOPT_HEADERFUNCTION, curlHeader)
            _ = berth_curl_setopt_ptr(curl, CURLOPT_HEADERDATA, context.toOpaque())
            _ = berth_curl_setopt_long(curl, CURLOPT_NOPROGRESS, 0)
            _ = berth_curl_setopt_progressfn(curl, curlProgress)
            _ = berth_curl_setopt_ptr(curl, CURLOPT_XFERINFODATA, context.toOpaque())
            switch method {
            case "GET": break
            case "HEAD": _ = berth_curl_setopt_long(curl, CURLOPT_NOBODY, 1)
            default: _ = berth_curl_setopt_str(curl, CURLOPT_CUSTOMREQUEST, method)
            }
            if inputFD >= 0 {
                _ = berth_curl_setopt_long(curl, CURLOPT_UPLOAD, 1)
                _ = berth_curl_setopt_off(curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(inputSize))
                _ = berth_curl_setopt_datafn(curl, CURLOPT_READFUNCTION, curlRead)
                _ = berth_curl_setopt_ptr(curl, CURLOPT_READDATA, context.toOpaque())
                if method != "PUT" { _ = berth_curl_setopt_str(curl, CURLOPT_CUSTOMREQUEST, method) }
                return curl_easy_perform(curl)
            }
            if let body {
                return body.withUnsafeBufferPointer { b in
                    _ = berth_curl_setopt_long(curl, CURLOPT_POST, 1)
                    _ = berth_curl_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(b.count))
                    _ = berth_curl_setopt_ptr(
                        curl, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: b.baseAddress))
                    if method != "POST" { _ = berth_curl_setopt_str(curl, CURLOPT_CUSTOMREQUEST, method) }
                    return curl_easy_perform(curl)
                }
            }
            return curl_easy_perform(curl)
        }
        if let failure = sink.failure { throw failure }
        guard rc == CURLE_OK else {
            let detail = String(nulTerminated: errorBuffer)
            let text = detail.isEmpty ? String(cString: curl_easy_strerror(rc)) : detail
            throw BerthError(.unavailable, "\(method) \(Self.redacted(url)): \(text)")
        }
        var status = 0
        _ = berth_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return Response(
            status: status, headers: sink.headers, body: sink.memory,
            fileDigest: sink.fd >= 0 ? sink.digest() : nil, fileBytes: sink.written)
    }

    /// The URL without a query (tokens and upload state stay out of messages).
    static func redacted(_ url: String) -> String {
        url.firstIndex(of: "?").map { String(url[..<$0]) } ?? url
    }
}

/// What the callbacks write to (a class, passed to C as an opaque pointer).
final class Sink {
    let fd: Int32
    var hash: FastSHA256?
    let limit: Int
    var memory: [UInt8] = []
    var headers: [(String, String)] = []
    var written: Int64 = 0
    var failure: BerthError?
    var onProgress: ((Int64) -> Bool)?
    var inputFD: Int32 = -1
    /// Bytes of the input still to send: a chunk of a file stops there, not at the file's end.
    var inputRemaining: Int64 = 0

    func digest() -> String? { hash.map { "sha256:" + $0.finalizeHex() } }

    init(fd: Int32, hash: FastSHA256?, limit: Int) {
        self.fd = fd
        self.hash = hash
        self.limit = limit
    }
}

private func curlWrite(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?)
    -> Int
{
    guard let ptr, let user else { return 0 }
    let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
    let n = size * count
    let bytes = UnsafeRawBufferPointer(start: ptr, count: n).bindMemory(to: UInt8.self)
    if sink.fd >= 0 {
        var done = 0
        while done < n {
            let w = write(sink.fd, ptr + done, n - done)
            if w < 0, errno == EINTR { continue }
            if w <= 0 {
                sink.failure = BerthError(.system(errno), "write a downloaded blob: \(Syscall.describe(errno: errno))")
                return 0
            }
            done += w
        }
        sink.hash?.update(UnsafeRawBufferPointer(bytes))
        sink.written += Int64(n)
    } else {
        if sink.memory.count + n > sink.limit {
            sink.failure = BerthError(.invalidArgument, "the registry's answer is larger than \(sink.limit) bytes")
            return 0
        }
        sink.memory.append(contentsOf: bytes)
    }
    return n
}

private func curlRead(_ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?)
    -> Int
{
    guard let ptr, let user else { return Int(CURL_READFUNC_ABORT) }
    let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
    let want = Int(min(Int64(size * count), sink.inputRemaining))
    if want == 0 { return 0 }
    while true {
        let n = read(sink.inputFD, ptr, want)
        if n < 0, errno == EINTR { continue }
        if n < 0 {
            sink.failure = BerthError(.system(errno), "read a blob to upload: \(Syscall.describe(errno: errno))")
            return Int(CURL_READFUNC_ABORT)
        }
        sink.inputRemaining -= Int64(n)
        return n
    }
}

private func curlHeader(
    _ ptr: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
)
    -> Int
{
    guard let ptr, let user else { return 0 }
    let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
    let n = size * count
    // The line ends with CR LF, which Swift takes as one Character: the bytes are trimmed before.
    var bytes = UnsafeRawBufferPointer(start: ptr, count: n)[...]
    while let last = bytes.last, last == 0x0A || last == 0x0D { bytes = bytes.dropLast() }
    let line = String(decoding: bytes, as: UTF8.self)
    if line.hasPrefix("HTTP/") {
        sink.headers = []  // a new response (after a redirect or a 100 Continue)
    } else if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].lowercased()
        let value = String(line[line.index(after: colon)...]).trimmingSpaces
        sink.headers.append((name, value))
    }
    return n
}

private func curlProgress(
    _ user: UnsafeMutableRawPointer?, _ dlTotal: curl_off_t, _ dlNow: curl_off_t, _ ulTotal: curl_off_t,
    _ ulNow: curl_off_t
) -> Int32 {
    guard let user else { return 0 }
    let sink = Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue()
    guard let report = sink.onProgress else { return 0 }
    return report(Int64(max(dlNow, ulNow))) ? 0 : 1
}
