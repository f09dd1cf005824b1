import BerthAPIClient
import BerthCore

/// The CLI's side of the Engine API: `APIClient` calls whose failures become `CLIError`s and whose bodies are
/// parsed as `JSONValue`.
struct Daemon {
    let client: APIClient

    init(host: String) { client = APIClient(host: host) }

    /// One call; the response whatever its status.
    func call(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) throws(CLIError) -> APIClient.Response {
        do { return try client.call(method, path, query: query, headers: headers, body: body) } catch {
            throw CLIError(error)
        }
    }

    /// One call that must succeed (a 304 counts); the daemon's `{"message"}` is thrown otherwise.
    @discardableResult
    func checked(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8]? = nil
    ) throws(CLIError) -> APIClient.Response {
        let r = try call(method, path, query: query, headers: headers, body: body)
        do { try APIClient.check(r.status, r.body) } catch { throw CLIError(error) }
        return r
    }

    /// A call that must succeed and answer JSON.
    func json(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil)
        throws(CLIError) -> JSONValue
    {
        let r = try checked(
            method, path, query: query, headers: body == nil ? [] : [("Content-Type", "application/json")],
            body: body.map { Array($0.serialized.utf8) })
        do { return try JSONValue.parse(bytes: r.body) } catch {
            throw CLIError("unexpected answer from the daemon: \(error.message)")
        }
    }

    /// A streamed call: `onChunk` gets the body as it arrives; return false to stop.
    func stream(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        onChunk: ([UInt8]) -> Bool
    ) throws(CLIError) {
        do { try client.stream(method, path, query: query, headers: headers, onChunk: onChunk) } catch {
            throw CLIError(error)
        }
    }

    /// A JSON-lines progress call for `image` (pull, push), with the registry credentials the CLI keeps: `show`
    /// gets each line; the first `errorDetail` ends it and is thrown, and so is a stream that ends before a line
    /// `isEnd` accepts (the daemon went away: "unexpected EOF").
    func progress(
        _ method: String, _ path: String, query: [(String, String)], image: String, action: String,
        isEnd: (JSONValue) -> Bool, show: (JSONValue) -> Void
    ) throws(CLIError) {
        var lines = JSONLines()
        var failure: String? = nil
        var finished = false
        func take(_ m: JSONValue) -> Bool {
            if let error = m["errorDetail"]?["message"]?.stringValue ?? m["error"]?.stringValue {
                failure = error
                return false
            }
            if isEnd(m) { finished = true }
            show(m)
            return true
        }
        let auth = CredentialStore.header(for: CredentialStore.host(ofImage: image))
        try stream(method, path, query: query, headers: [("X-Registry-Auth", auth)]) { lines.feed($0).allSatisfy(take) }
        _ = lines.finish().allSatisfy(take)
        if let failure { throw CLIError(failure) }
        guard finished else { throw CLIError("error \(action) \(image): unexpected EOF") }
    }

    /// `path` with an object name put into it safely (names may hold `/` and `:` for images, not `?`/`#`).
    static func escape(_ name: String) -> String {
        var out = ""
        for c in name.unicodeScalars {
            switch c {
            case "?", "#", "%", " ": out += APIClient.percentEncode(String(c))
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// Splits a JSON-lines body (`events`, `import`, pull progress) into objects as chunks arrive.
struct JSONLines {
    private var buffer: [UInt8] = []

    /// Adds bytes and returns every complete line's value (lines that do not parse are skipped).
    mutating func feed(_ bytes: [UInt8]) -> [JSONValue] { feedLines(bytes).map(\.value) }

    /// Like `feed`, with each line's text too (for numbers a `Double` would round, such as `timeNano`).
    mutating func feedLines(_ bytes: [UInt8]) -> [(value: JSONValue, text: [UInt8])] {
        buffer.append(contentsOf: bytes)
        var out: [(value: JSONValue, text: [UInt8])] = []
        while let nl = buffer.firstIndex(of: 10) {
            let line = Array(buffer[..<nl])
            buffer.removeFirst(nl + 1)
            if let v = try? JSONValue.parse(bytes: line) { out.append((v, line)) }
        }
        return out
    }

    /// The digits of the integer member `"key":N` in JSON text, read exactly.
    static func integer(_ key: String, in text: [UInt8]) -> Int64? {
        let needle = Array("\"\(key)\":".utf8)
        guard text.count >= needle.count else { return nil }
        for i in 0...(text.count - needle.count) where text[i] == needle[0] {
            guard Array(text[i..<i + needle.count]) == needle else { continue }
            var j = i + needle.count
            while j < text.count, text[j] == 32 { j += 1 }
            let digits = text[j...].prefix { ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: "-") }
            return Int64(String(decoding: digits, as: UTF8.self))
        }
        return nil
    }

    /// What is left after the stream ended (a last line without a newline).
    mutating func finish() -> [JSONValue] {
        defer { buffer.removeAll() }
        let text = buffer.filter { $0 != 32 && $0 != 10 && $0 != 13 }
        guard !text.isEmpty, let v = try? JSONValue.parse(bytes: buffer) else { return [] }
        return [v]
    }
}
