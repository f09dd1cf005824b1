import BerthCore
import BerthOS
import BerthTestSupport
import Glibc
import Testing

@testable import BerthPlugins

/// Docker's discovery order over real files: sockets before spec files, the first directory first.
struct PluginDiscoveryTests {
    /// A listening unix socket at `path` (closed at the end of the test by the caller).
    static func listen(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let ok = try UnixSocket.withAddress(path) { bind(fd, $0, $1) == 0 && Glibc.listen(fd, 1) == 0 }
        try #require(ok, "bind \(path): errno \(errno)")
        return fd
    }

    @Test func socketsThenSpecsInDirectoryOrder() throws {
        try withTemporaryDirectory { dir in
            let a = dir + "/a"
            let b = dir + "/b"
            try FileSystem.createDirectory(a)
            try FileSystem.createDirectory(b + "/nested")
            try FileSystem.writeFile(a + "/both.spec", "tcp://127.0.0.1:9999\n")
            let s1 = try Self.listen(b + "/both.sock")
            let s2 = try Self.listen(b + "/nested/nested.sock")
            defer {
                close(s1)
                close(s2)
            }
            try FileSystem.writeFile(a + "/viaspec.spec", "unix:///run/elsewhere.sock")
            try FileSystem.writeFile(a + "/viajson.json", #"{"Name":"viajson","Addr":"http://127.0.0.1:8080"}"#)
            try FileSystem.writeFile(a + "/tls.json", #"{"Name":"tls","Addr":"https://127.0.0.1:8443"}"#)
            try FileSystem.writeFile(a + "/ca.pem", "")
            try FileSystem.writeFile(
                a + "/mtls.json",
                #"{"Name":"mtls","Addr":"tcp://127.0.0.1:8444","TLSConfig":{"CAFile":"\#(a)/ca.pem","CertFile":"\#(a)/ca.pem","KeyFile":"\#(a)/ca.pem"}}"#
            )
            try FileSystem.writeFile(
                a + "/nokey.json", #"{"Name":"nokey","Addr":"https://h:1","TLSConfig":{"CertFile":"\#(a)/ca.pem"}}"#)
            try FileSystem.writeFile(
                a + "/noca.json", #"{"Name":"noca","Addr":"https://h:1","TLSConfig":{"CAFile":"/nonexistent/ca"}}"#)
            try FileSystem.writeFile(a + "/tlsspec.spec", "https://127.0.0.1:8443")
            try FileSystem.writeFile(a + "/junk.spec", "ftp://nowhere")
            let dirs = [a, b]
            // A socket wins over a spec file even in a later directory.
            #expect(try PluginDiscovery.find("both", in: dirs)?.address == "unix://\(b)/both.sock")
            #expect(try PluginDiscovery.find("nested", in: dirs)?.address == "unix://\(b)/nested/nested.sock")
            #expect(try PluginDiscovery.find("viaspec", in: dirs)?.address == "unix:///run/elsewhere.sock")
            #expect(try PluginDiscovery.find("viajson", in: dirs)?.address == "tcp://127.0.0.1:8080")
            #expect(try PluginDiscovery.find("missing", in: dirs) == nil)
            // TLS: an https:// address or a TLSConfig in a .json spec; never in a .spec file.
            let tls = try PluginDiscovery.find("tls", in: dirs)
            #expect(tls?.address == "https://127.0.0.1:8443" && tls?.tls == PluginTLS(), "\(String(describing: tls))")
            let mtls = try PluginDiscovery.find("mtls", in: dirs)
            #expect(mtls?.address == "https://127.0.0.1:8444" && mtls?.tls?.certFile == a + "/ca.pem")
            for bad in ["nokey", "noca", "tlsspec"] {
                #expect(throws: BerthError.self, "\(bad)") { _ = try PluginDiscovery.find(bad, in: dirs) }
            }
            #expect(throws: BerthError.self) { _ = try PluginDiscovery.find("junk", in: dirs) }
            #expect(throws: BerthError.self) { _ = try PluginDiscovery.find("../etc/passwd", in: dirs) }
            let names = PluginDiscovery.all(in: dirs).map(\.name)
            #expect(names == ["both", "mtls", "nested", "tls", "viajson", "viaspec"], "\(names)")
        }
    }

    @Test func pluginNames() {
        for good in ["dirvol", "my.plugin", "a_b-c"] { #expect(PluginDiscovery.isValidName(good)) }
        for bad in ["", ".hidden", "a/b", "..", "sp ace"] { #expect(!PluginDiscovery.isValidName(bad)) }
    }
}
