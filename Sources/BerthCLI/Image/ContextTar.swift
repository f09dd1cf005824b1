import BerthCore
import BerthDockerIgnore
import BerthOS
import Glibc

/// Writes a build context as a tar the way the docker CLI sends it: the directory's files in walk order, minus
/// what `.dockerignore` excludes (the Dockerfile and `.dockerignore` always go), with numeric owners. Names
/// over 100 bytes and link targets over 100 bytes go in PAX headers.
struct ContextTar {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// Writes `dir` (its contents, not itself), skipping what `ignore` excludes except the names in `keep`.
    mutating func addDirectory(_ dir: String, ignore: DockerIgnore?, keep: Set<String>) throws(CLIError) {
        try walk(dir, "", ignore: ignore, keep: keep)
    }

    private mutating func walk(_ root: String, _ relative: String, ignore: DockerIgnore?, keep: Set<String>)
        throws(CLIError)
    {
        let dir = relative.isEmpty ? root : root + "/" + relative
        let names: [String]
        do { names = try FileSystem.list(dir).sorted() } catch { throw CLIError("read \(dir): \(error.message)") }
        for name in names {
            let path = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(root + "/" + path, &st) == 0 else { continue }
            let isDir = st.st_mode & S_IFMT == S_IFDIR
            if let ignore, ignore.matches(path), !keep.contains(path) {
                if isDir, ignore.mayReinclude(below: path) { try walk(root, path, ignore: ignore, keep: keep) }
                continue
            }
            try addFile(root + "/" + path, as: path, st)
            if isDir { try walk(root, path, ignore: ignore, keep: keep) }
        }
    }

    /// One file system entry as `name`.
    mutating func addFile(_ host: String, as name: String, _ st: stat) throws(CLIError) {
        var type: UInt8
        var size = 0
        var link = ""
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            type = UInt8(ascii: "0")
            size = Int(st.st_size)
        case S_IFDIR: type = UInt8(ascii: "5")
        case S_IFLNK:
            type = UInt8(ascii: "2")
            link = (try? FileSystem.readLink(host)) ?? ""
        default: return
        }
        try header(
            name: type == UInt8(ascii: "5") ? name + "/" : name, mode: Int(st.st_mode & 0o7777), size: size,
            mtime: Int(st.st_mtim.tv_sec), type: type, link: link, uid: Int(st.st_uid), gid: Int(st.st_gid))
        if type == UInt8(ascii: "0") {
            let input = open(host, O_RDONLY | O_CLOEXEC)
            guard input >= 0 else { throw CLIError("open \(host): \(String(cString: strerror(errno)))") }
            defer { close(input) }
            var remaining = size
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            while remaining > 0 {
                let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, min($0.count, remaining)) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw CLIError("read \(host): file changed while sending the context") }
                try write(Array(buffer[0..<n]))
                remaining -= n
            }
            try pad(size)
        }
    }

    /// A regular file with `bytes` as its content.
    mutating func addData(_ bytes: [UInt8], as name: String) throws(CLIError) {
        try header(
            name: name, mode: 0o644, size: bytes.count, mtime: Int(time(nil)), type: UInt8(ascii: "0"),
            link: "", uid: 0, gid: 0)
        try write(bytes)
        try pad(bytes.count)
    }

    /// The two zero blocks that end a tar.
    mutating func finish() throws(CLIError) { try write([UInt8](repeating: 0, count: 1024)) }

    private mutating func header(
        name: String, mode: Int, size: Int, mtime: Int, type: UInt8, link: String, uid: Int, gid: Int
    ) throws(CLIError) {
        var pax: [(String, String)] = []
        if name.utf8.count > 100 { pax.append(("path", name)) }
        if link.utf8.count > 100 { pax.append(("linkpath", link)) }
        if size > 0o77777777777 { pax.append(("size", String(size))) }
        if !pax.isEmpty {
            var records: [UInt8] = []
            for (k, v) in pax {
                let body = " \(k)=\(v)\n"
                var length = body.utf8.count + 1
                while String(length).utf8.count + body.utf8.count != length { length += 1 }
                records += Array((String(length) + body).utf8)
            }
            try write(
                Self.block(
                    name: "././@PaxHeader", mode: 0o644, size: records.count, mtime: mtime,
                    type: UInt8(ascii: "x"), link: "", uid: 0, gid: 0))
            try write(records)
            try pad(records.count)
        }
        try write(
            Self.block(
                name: name, mode: mode, size: size > 0o77777777777 ? 0 : size, mtime: mtime, type: type,
                link: link, uid: uid, gid: gid))
    }

    /// One ustar header block.
    static func block(name: String, mode: Int, size: Int, mtime: Int, type: UInt8, link: String, uid: Int, gid: Int)
        -> [UInt8]
    {
        var b = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ offset: Int, _ width: Int) {
            for (i, c) in text.utf8.prefix(width).enumerated() { b[offset + i] = c }
        }
        func octal(_ value: Int, _ offset: Int, _ width: Int) {
            let s = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - s.count)) + s, offset, width - 1)
        }
        put(name, 0, 100)
        octal(mode, 100, 8)
        octal(uid, 108, 8)
        octal(gid, 116, 8)
        octal(size, 124, 12)
        octal(mtime, 136, 12)
        b[156] = type
        put(link, 157, 100)
        put("ustar", 257, 6)
        put("00", 263, 2)
        for i in 148..<156 { b[i] = 0x20 }
        octal(b.reduce(0) { $0 + Int($1) }, 148, 7)
        b[155] = 0x20
        return b
    }

    private mutating func pad(_ size: Int) throws(CLIError) {
        let rest = size % 512
        if rest != 0 { try write([UInt8](repeating: 0, count: 512 - rest)) }
    }

    private func write(_ bytes: [UInt8]) throws(CLIError) {
        do { try FileSystem.writeAll(fd: fd, bytes, what: "the build context") } catch {
            throw CLIError(error.message)
        }
    }
}
