import BerthCore
import Testing

@testable import BerthImage

struct RegistryClientTests {
    @Test func locationsFollowDockersNaming() {
        let hub = RegistryLocation(repository: "busybox")
        #expect(hub.host == "docker.io" && hub.apiHost == "registry-1.docker.io" && hub.path == "library/busybox")
        #expect(RegistryLocation(repository: "user/app").path == "user/app")
        let local = RegistryLocation(repository: "127.0.0.1:5000/team/app")
        #expect(local.host == "127.0.0.1:5000" && local.apiHost == "127.0.0.1:5000" && local.path == "team/app")
        #expect(local.isLoopback)
        #expect(RegistryLocation(repository: "localhost/app").isLoopback)
        #expect(!RegistryLocation(repository: "registry.example.com:443/app").isLoopback)
    }

    @Test func parsesAuthenticationChallenges() {
        let (kind, p) = RegistryClient.parseChallenge(
            #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#
        )
        #expect(kind == "Bearer")
        #expect(p["realm"] == "https://auth.example.com/token")
        #expect(p["service"] == "registry.example.com")
        #expect(p["scope"] == "repository:a/b:pull,push")
        let (basic, bp) = RegistryClient.parseChallenge(#"Basic realm="Registry Realm""#)
        #expect(basic == "Basic" && bp["realm"] == "Registry Realm")
        #expect(RegistryClient.percentEncode("repository:a/b:pull") == "repository%3Aa%2Fb%3Apull")
    }

    @Test func decodesTheDockerCLIsAuthHeader() {
        // base64url of {"username":"u","password":"p?>"}: '?' and '>' make the url-safe characters appear.
        let json = #"{"username":"u","password":"p?>"}"#
        let header = String(Base64.encode(Array(json.utf8)).map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
        #expect(RegistryCredentials(header: header) == RegistryCredentials(username: "u", password: "p?>"))
        #expect(RegistryCredentials(header: "e30=") == nil)  // {} as the CLI sends it without a login
        #expect(RegistryCredentials(header: "not base64!") == nil)
    }

    @Test func platformsParseAsDockerTakesThem() throws {
        #expect(try Platform(parsing: "linux/amd64") == Platform())
        #expect(try Platform(parsing: "linux/arm64/v8").variant == "v8")
        #expect(try Platform(parsing: "Linux/x86_64").architecture == "amd64")
        #expect(throws: BerthError.self) { try Platform(parsing: "linux") }
        #expect(throws: BerthError.self) { try Platform(parsing: "linux//") }
    }
}
