import BerthTestSupport
import Foundation

/// A throwaway CA, made with openssl in `dir`: a server certificate for 127.0.0.1 and a client certificate,
/// both signed by it, valid for a day.
struct TestPKI {
    let dir: String
    var caCert: String { dir + "/ca.crt" }
    var serverCert: String { dir + "/server.crt" }
    var serverKey: String { dir + "/server.key" }
    var clientCert: String { dir + "/client.crt" }
    var clientKey: String { dir + "/client.key" }

    init(in dir: String) throws {
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/ca.key", "-out", "\(dir)/ca.crt",
            "-days", "1", "-subj", "/CN=berth-test-ca",
        ])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: dir + "/ext", atomically: true, encoding: .utf8)
        for (name, subject) in [("server", "/CN=127.0.0.1"), ("client", "/CN=berthd")] {
            try Self.openssl([
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr",
                "-subj", subject,
            ])
            try Self.openssl(
                [
                    "x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/ca.crt", "-CAkey", "\(dir)/ca.key",
                    "-CAcreateserial", "-out", "\(dir)/\(name).crt", "-days", "1",
                ] + (name == "server" ? ["-extfile", "\(dir)/ext"] : []))
        }
    }

    static func openssl(_ args: [String]) throws {
        let r = try run("/usr/bin/openssl", args)
        guard r.status == 0 else { throw TestFailure("openssl \(args.first ?? ""): \(r.output)") }
    }
}
