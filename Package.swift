// swift-tools-version: 6.0
// Berth: a container engine for Linux. Targets follow ../shared/ARCHITECTURE.md §3.
import PackageDescription

let package = Package(
    name: "Berth",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "berthd", targets: ["berthd"]),
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berth-shim", targets: ["berth-shim"]),
        .executable(name: "berth-registry", targets: ["berth-registry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // Pure domain: protocols, types, errors, JSON, hashing. No Glibc, no Foundation, no I/O.
        .target(name: "BerthCore"),
        // C: what Glibc hides, berth_spawn, the clone-to-execve container path.
        .target(name: "CBerthLinux"),
        // System libraries from Debian (module.modulemap + shim.h + pkg-config).
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CXCrypt", pkgConfig: "libcrypt", providers: [.apt(["libcrypt-dev"])]),
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CNftables", pkgConfig: "libnftables", providers: [.apt(["libnftables-dev"])]),
        // Syscall wrappers (EINTR retry, errno -> BerthError), files, fds. No Foundation (used by the shim).
        .target(name: "BerthOS", dependencies: ["BerthCore", "CBerthLinux"]),
        .target(name: "BerthArchive", dependencies: ["BerthCore", "BerthOS", "CArchive", "CBerthLinux", "CCrypto"]),
        .target(name: "BerthCgroups", dependencies: ["BerthCore", "BerthOS", "CBerthLinux"]),
        .target(name: "BerthStorageOverlay", dependencies: ["BerthCore", "BerthOS", "BerthArchive", "CBerthLinux"]),
        .target(name: "BerthStorageVFS", dependencies: ["BerthCore", "BerthOS", "BerthArchive"]),
        .target(name: "BerthNetworkBasic", dependencies: ["BerthCore"]),
        .target(name: "BerthNetworkBridge", dependencies: ["BerthCore", "BerthOS", "CBerthLinux", "CNftables"]),
        .target(name: "BerthImage", dependencies: ["BerthCore", "BerthOS", "BerthArchive", "CCurl"]),
        // Lua 5.4: the sandboxed VM, config.lua, and the hook engine (ARCHITECTURE §5).
        .target(
            name: "BerthLua",
            dependencies: ["BerthCore", "BerthOS", "CLua", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "BerthRuntime",
            dependencies: [
                "BerthCore", "BerthOS", "CBerthLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Dockerfile parsing (directives, continuations, heredocs, variable expansion), .dockerignore, and the
        // builder's steps and cache, driven through a protocol the daemon implements.
        .target(
            name: "BerthBuild",
            dependencies: ["BerthCore", "BerthDockerIgnore", "BerthOS", "BerthArchive", "CBerthLinux"]),
        // `.dockerignore` and the wildcard and text helpers it shares with the parser: pure Swift, so the CLI can
        // leave ignored files out of the context it sends.
        .target(name: "BerthDockerIgnore", dependencies: ["BerthCore"]),
        // The private registry server: the OCI distribution API over HTTP/1.1 (optionally TLS), content on disk.
        .target(
            name: "BerthRegistry",
            dependencies: [
                "BerthCore", "BerthOS", "BerthArchive", "BerthLua", "CXCrypt",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Operator plugins: discovery, activation and Docker's plugin protocol, and the adapters that make a plugin
        // a Berth driver (ARCHITECTURE §6).
        .target(
            name: "BerthPlugins",
            dependencies: [
                "BerthCore", "BerthOS", "BerthAPIClient", "BerthArchive", "BerthImage", "CBerthLinux",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The blocking Engine API client: no NIO, so the CLI stays small and starts fast.
        .target(name: "BerthAPIClient", dependencies: ["BerthCore", "BerthOS"]),
        .target(
            name: "BerthAPI",
            dependencies: [
                "BerthCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "BerthDaemon",
            dependencies: [
                "BerthCore", "BerthOS", "BerthImage", "BerthBuild", "BerthDockerIgnore", "BerthPlugins", "BerthRuntime",
                "BerthAPI",
                "BerthArchive",
                "BerthCgroups",
                "BerthLua", "BerthNetworkBridge", "CBerthLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "BerthCLI",
            dependencies: [
                "BerthCore", "BerthAPIClient", "BerthOS", "BerthDockerIgnore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "berthd",
            dependencies: [
                "BerthDaemon", "BerthPlugins", "BerthStorageOverlay", "BerthStorageVFS", "BerthNetworkBasic",
                "BerthNetworkBridge",
                "BerthCgroups",
                "BerthLua",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // `berth registry serve|gc` runs this executable (the CLI itself stays free of NIO).
        .executableTarget(
            name: "berth-registry",
            dependencies: [
                "BerthRegistry", "BerthCore", "BerthOS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]),
        // Static Swift libraries: the CLI runs once per command, and dynamic loading of the Swift runtime and
        // FoundationEssentials was most of its start-up time. Not position-independent: a PIE of this size
        // makes the loader apply ~15,000 relocations (and fault in their pages) at every start.
        .executableTarget(
            name: "berth", dependencies: ["BerthCLI"],
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib", "-Xlinker", "-l_FoundationCShims", "-Xlinker", "-l_FoundationCollections",
                    "-Xlinker", "-lswiftSynchronization", "-Xclang-linker", "-no-pie",
                ])
            ]),
        // The per-container shim: single-threaded, no Foundation/Dispatch/NIO, static Swift stdlib, not a PIE
        // (a quarter fewer page faults at start and a smaller resident set per container).
        .executableTarget(
            name: "berth-shim",
            dependencies: ["BerthCore", "BerthOS", "BerthCgroups", "CBerthLinux", "CSeccomp"],
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // Shared test helpers: temporary roots, the storage driver conformance suite.
        .target(name: "BerthTestSupport", dependencies: ["BerthCore", "BerthOS"], path: "Tests/BerthTestSupport"),
        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore"], exclude: ["Golden"]),
        .testTarget(name: "BerthOSTests", dependencies: ["BerthOS", "BerthTestSupport"]),
        .testTarget(name: "BerthArchiveTests", dependencies: ["BerthArchive", "BerthTestSupport"]),
        .testTarget(name: "BerthCgroupsTests", dependencies: ["BerthCgroups", "BerthTestSupport"]),
        .testTarget(name: "BerthStorageOverlayTests", dependencies: ["BerthStorageOverlay", "BerthTestSupport"]),
        .testTarget(name: "BerthStorageVFSTests", dependencies: ["BerthStorageVFS", "BerthTestSupport"]),
        .testTarget(name: "BerthNetworkBasicTests", dependencies: ["BerthNetworkBasic"]),
        .testTarget(name: "BerthNetworkBridgeTests", dependencies: ["BerthNetworkBridge", "BerthTestSupport"]),
        .testTarget(name: "BerthImageTests", dependencies: ["BerthImage", "BerthTestSupport"]),
        .testTarget(name: "BerthLuaTests", dependencies: ["BerthLua", "BerthTestSupport"]),
        .testTarget(name: "BerthRuntimeTests", dependencies: ["BerthRuntime", "BerthTestSupport"]),
        .testTarget(name: "BerthAPITests", dependencies: ["BerthAPI", "BerthAPIClient"]),
        .testTarget(
            name: "BerthBuildTests", dependencies: ["BerthBuild", "BerthDockerIgnore", "BerthTestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "BerthRegistryTests",
            dependencies: [
                "BerthRegistry", "BerthTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "BerthPluginsTests", dependencies: ["BerthPlugins", "BerthTestSupport"]),
        .testTarget(name: "BerthDaemonTests", dependencies: ["BerthDaemon", "BerthTestSupport"]),
        .testTarget(
            name: "BerthCLITests", dependencies: ["BerthCLI", "BerthAPIClient"], exclude: ["Golden", "Snapshots"]),
        .testTarget(name: "BerthIntegrationTests", dependencies: ["BerthCore", "BerthAPIClient", "BerthTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
