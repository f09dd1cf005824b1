import Foundation

/// One entry of a test tar, written by python's `tarfile` (PAX format), so tests can craft any layer, including
/// malicious ones (`../`, absolute names, hardlinks out of the root, symlink-then-write-through).
public struct TarEntry: Sendable {
    public var name: String
    public var type: String
    public var content: String = ""
    public var mode: Int = 0o644
    public var uid: Int = 0
    public var gid: Int = 0
    public var uname: String = ""
    public var target: String = ""
    public var major: Int = 0
    public var minor: Int = 0
    public var mtime: Int = 1_000_000_000
    /// PAX `SCHILY.xattr.*` attributes.
    public var xattrs: [String: String] = [:]

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }

    public static func file(
        _ name: String, _ content: String = "", mode: Int = 0o644, uid: Int = 0, gid: Int = 0, uname: String = "",
        xattrs: [String: String] = [:]
    ) -> TarEntry {
        var e = TarEntry(name: name, type: "file")
        e.content = content
        e.mode = mode
        e.uid = uid
        e.gid = gid
        e.uname = uname
        e.xattrs = xattrs
        return e
    }

    public static func dir(
        _ name: String, mode: Int = 0o755, uid: Int = 0, gid: Int = 0, xattrs: [String: String] = [:]
    )
        -> TarEntry
    {
        var e = TarEntry(name: name, type: "dir")
        e.mode = mode
        e.uid = uid
        e.gid = gid
        e.xattrs = xattrs
        return e
    }

    public static func symlink(_ name: String, to target: String) -> TarEntry {
        var e = TarEntry(name: name, type: "symlink")
        e.target = target
        e.mode = 0o777
        return e
    }

    public static func hardlink(_ name: String, to target: String) -> TarEntry {
        var e = TarEntry(name: name, type: "hardlink")
        e.target = target
        return e
    }

    public static func charDevice(_ name: String, major: Int, minor: Int, mode: Int = 0o666) -> TarEntry {
        var e = TarEntry(name: name, type: "chr")
        e.major = major
        e.minor = minor
        e.mode = mode
        return e
    }

    public static func fifo(_ name: String) -> TarEntry {
        TarEntry(name: name, type: "fifo")
    }

    /// The OCI whiteout for `path`: an empty file `dirname/.wh.basename`.
    public static func whiteout(_ path: String) -> TarEntry {
        let url = path.split(separator: "/").map(String.init)
        let name = ".wh." + (url.last ?? "")
        return .file((url.dropLast() + [name]).joined(separator: "/"), mode: 0o600)
    }

    /// The OCI opaque marker for directory `dir`: an empty file `dir/.wh..wh..opq`.
    public static func opaque(_ dir: String) -> TarEntry {
        .file(dir + "/.wh..wh..opq", mode: 0o600)
    }

    var json: [String: Any] {
        [
            "name": name, "type": type, "content": content, "mode": mode, "uid": uid, "gid": gid, "uname": uname,
            "target": target, "major": major, "minor": minor, "mtime": mtime, "xattrs": xattrs,
        ]
    }
}

/// One entry of an existing tar as python's `tarfile` lists it.
public struct TarListing: Sendable, Equatable {
    public var name: String
    /// `file`, `dir`, `symlink`, `hardlink`, `chr`, `blk`, `fifo`.
    public var type: String
    public var mode: Int
    public var uid: Int
    public var gid: Int
    public var uname: String
    public var gname: String
    public var linkname: String
    public var size: Int
    public var major: Int
    public var minor: Int
    public var pax: [String: String]
    public var content: String
}

/// Writes and reads tars through python3's `tarfile` (tests only).
public enum TarBuilder {
    /// Compression of a written tar.
    public enum Compression: String, Sendable {
        case none = "w"
        case gzip = "w:gz"
        case xz = "w:xz"
    }

    /// Writes `entries` in order to a tar at `path`.
    public static func write(_ entries: [TarEntry], to path: String, compression: Compression = .none) throws {
        let spec: [String: Any] = ["out": path, "mode": compression.rawValue, "entries": entries.map(\.json)]
        _ = try python(writeScript, input: JSONSerialization.data(withJSONObject: spec))
    }

    /// Lists the tar at `path` (any compression python reads).
    public static func list(_ path: String) throws -> [TarListing] {
        let out = try python(listScript, input: Data(path.utf8))
        guard let items = try JSONSerialization.jsonObject(with: out) as? [[String: Any]] else {
            throw TestSupportError("unexpected tar listing output")
        }
        return items.map { d in
            TarListing(
                name: d["name"] as? String ?? "", type: d["type"] as? String ?? "", mode: d["mode"] as? Int ?? 0,
                uid: d["uid"] as? Int ?? -1, gid: d["gid"] as? Int ?? -1, uname: d["uname"] as? String ?? "",
                gname: d["gname"] as? String ?? "", linkname: d["linkname"] as? String ?? "",
                size: d["size"] as? Int ?? 0, major: d["major"] as? Int ?? 0, minor: d["minor"] as? Int ?? 0,
                pax: d["pax"] as? [String: String] ?? [:], content: d["content"] as? String ?? "")
        }
    }

    /// Runs `python3 -c script` with `input` on stdin; returns stdout or throws with stderr.
    public static func python(_ script: String, input: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSupportError("python3 failed: \(String(decoding: err, as: UTF8.self))")
        }
        return out
    }

    private static let writeScript = """
        import io, json, sys, tarfile
        spec = json.load(sys.stdin)
        types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                 "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}
        with tarfile.open(spec["out"], spec["mode"], format=tarfile.PAX_FORMAT) as tf:
            for e in spec["entries"]:
                ti = tarfile.TarInfo(e["name"])
                ti.type = types[e["type"]]
                ti.mode = e["mode"]; ti.uid = e["uid"]; ti.gid = e["gid"]; ti.uname = e["uname"]; ti.gname = ""
                ti.mtime = e["mtime"]; ti.linkname = e["target"]
                ti.devmajor = e["major"]; ti.devminor = e["minor"]
                if e["xattrs"]:
                    ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
                data = None
                if e["type"] == "file":
                    data = e["content"].encode("utf-8"); ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        """

    private static let listScript = """
        import json, sys, tarfile
        names = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
                 tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "chr", tarfile.BLKTYPE: "blk", tarfile.FIFOTYPE: "fifo"}
        out = []
        with tarfile.open(sys.stdin.read()) as tf:
            for ti in tf:
                content = ""
                if ti.isreg():
                    content = tf.extractfile(ti).read().decode("utf-8", "replace")
                out.append({"name": ti.name, "type": names.get(ti.type, "other"), "mode": ti.mode, "uid": ti.uid,
                            "gid": ti.gid, "uname": ti.uname, "gname": ti.gname, "linkname": ti.linkname,
                            "size": ti.size, "major": ti.devmajor, "minor": ti.devminor,
                            "pax": {k: v for k, v in ti.pax_headers.items()}, "content": content})
        json.dump(out, sys.stdout)
        """
}
