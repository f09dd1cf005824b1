import BerthCore
import Testing

@testable import BerthCLI

/// The network flags of run/create, in the shapes the docker CLI sends.
struct NetworkFlagsTests {
    @Test func publishSpecs() throws {
        #expect(try ContainerOptions.parsePublish("80").map { "\($0.0) \($0.1)|\($0.2)" } == ["80/tcp |"])
        #expect(try ContainerOptions.parsePublish("8080:80").map { "\($0.0) \($0.1)|\($0.2)" } == ["80/tcp |8080"])
        #expect(
            try ContainerOptions.parsePublish("127.0.0.1:8080:80/udp").map { "\($0.0) \($0.1)|\($0.2)" }
                == ["80/udp 127.0.0.1|8080"])
        #expect(
            try ContainerOptions.parsePublish("127.0.0.1::80").map { "\($0.0) \($0.1)|\($0.2)" } == [
                "80/tcp 127.0.0.1|"
            ])
        #expect(
            try ContainerOptions.parsePublish("8000-8001:80-81").map { "\($0.0) \($0.1)|\($0.2)" }
                == ["80/tcp |8000", "81/tcp |8001"])
        for bad in ["", "abc", "70000", "1:2:3:4", "80/xyz", "8000-8002:80-81"] {
            #expect(throws: CLIError.self, "\(bad)") { try ContainerOptions.parsePublish(bad) }
        }
    }

    @Test func bodyCarriesPortsLinksDNSAndEndpoint() throws {
        let r = try CreateBodyTests.request([
            "-p", "127.0.0.1:8080:80", "-p", "9000:90/udp", "-P", "--expose", "7000", "--network", "mynet", "--ip",
            "10.1.0.5", "--network-alias", "web", "--mac-address", "02:00:00:00:00:01", "--link", "db:database",
            "--dns", "10.0.0.2", "--dns-search", "example.test", "--add-host", "h1:10.9.9.9", "busybox",
        ])
        let h = r.body["HostConfig"]
        #expect(h?["PortBindings"]?["80/tcp"]?.arrayValue?.first?["HostIp"]?.stringValue == "127.0.0.1")
        #expect(h?["PortBindings"]?["80/tcp"]?.arrayValue?.first?["HostPort"]?.stringValue == "8080")
        #expect(h?["PortBindings"]?["90/udp"]?.arrayValue?.first?["HostPort"]?.stringValue == "9000")
        #expect(h?["PublishAllPorts"]?.boolValue == true)
        #expect(r.body["ExposedPorts"]?.objectMembers.map(\.0).sorted() == ["7000/tcp", "80/tcp", "90/udp"])
        #expect(h?["Links"]?.stringArray == ["db:database"])
        #expect(h?["Dns"]?.stringArray == ["10.0.0.2"] && h?["DnsSearch"]?.stringArray == ["example.test"])
        #expect(h?["ExtraHosts"]?.stringArray == ["h1:10.9.9.9"])
        #expect(h?["NetworkMode"]?.stringValue == "mynet")
        let e = r.body["NetworkingConfig"]?["EndpointsConfig"]?["mynet"]
        #expect(e?["IPAMConfig"]?["IPv4Address"]?.stringValue == "10.1.0.5")
        #expect(e?["Aliases"]?.stringArray == ["web"])
        #expect(e?["MacAddress"]?.stringValue == "02:00:00:00:00:01")
        #expect(CreateBodyTests.error(["-p", "80/xyz", "busybox"]) != nil)
    }
}
