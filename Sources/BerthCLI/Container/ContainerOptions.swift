import ArgumentParser

/// The flags `berth run` and `berth create` share, named as in the docker CLI
/// (docker/cli `cli/command/container/opts.go`). `ContainerOptions+Body.swift` turns them into the create body.
struct ContainerOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Attach to STDIN, STDOUT or STDERR.", valueName: "stream"))
    var attach: [String] = []

    @Option(name: .customLong("cap-add"), help: ArgumentHelp("Add Linux capabilities.", valueName: "cap"))
    var capAdd: [String] = []

    @Option(name: .customLong("cap-drop"), help: ArgumentHelp("Drop Linux capabilities.", valueName: "cap"))
    var capDrop: [String] = []

    @Option(
        name: [.customShort("c"), .customLong("cpu-shares")],
        help: ArgumentHelp("CPU shares (relative weight).", valueName: "int"))
    var cpuShares: Int64 = 0

    @Option(name: .customLong("cpus"), help: ArgumentHelp("Number of CPUs.", valueName: "decimal"))
    var cpus: String?

    @Option(
        name: .customLong("cpuset-cpus"),
        help: ArgumentHelp("CPUs in which to allow execution (0-3, 0,1).", valueName: "string"))
    var cpusetCpus: String = ""

    @Option(
        name: .customLong("entrypoint"),
        help: ArgumentHelp("Overwrite the default ENTRYPOINT of the image.", valueName: "string"))
    var entrypoint: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Set environment variables.", valueName: "key=value"))
    var env: [String] = []

    @Option(
        name: .customLong("env-file"),
        help: ArgumentHelp("Read in a file of environment variables.", valueName: "file"))
    var envFile: [String] = []

    @Option(name: .customLong("health-cmd"), help: ArgumentHelp("Command to run to check health.", valueName: "string"))
    var healthCmd: String?

    @Option(
        name: .customLong("health-interval"),
        help: ArgumentHelp("Time between running the check (ms|s|m|h) (default 0s).", valueName: "duration"))
    var healthInterval: String?

    @Option(
        name: .customLong("health-retries"),
        help: ArgumentHelp("Consecutive failures needed to report unhealthy.", valueName: "int"))
    var healthRetries: Int?

    @Option(
        name: .customLong("health-start-period"),
        help: ArgumentHelp(
            "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s).",
            valueName: "duration"))
    var healthStartPeriod: String?

    @Option(
        name: .customLong("health-timeout"),
        help: ArgumentHelp("Maximum time to allow one check to run (ms|s|m|h) (default 0s).", valueName: "duration"))
    var healthTimeout: String?

    @Flag(name: .customLong("no-healthcheck"), help: "Disable any container-specified HEALTHCHECK.")
    var noHealthcheck = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Container host name.", valueName: "string"))
    var hostname: String = ""

    @Flag(name: .shortAndLong, help: "Keep STDIN open even if not attached.")
    var interactive = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Set meta data on a container.", valueName: "key=value"))
    var label: [String] = []

    @Option(
        name: .customLong("log-driver"), help: ArgumentHelp("Logging driver for the container.", valueName: "string"))
    var logDriver: String = ""

    @Option(name: .customLong("log-opt"), help: ArgumentHelp("Log driver options.", valueName: "list"))
    var logOpt: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Memory limit.", valueName: "bytes"))
    var memory: String?

    @Option(
        name: .customLong("memory-swap"), parsing: .unconditional,
        help: ArgumentHelp(
            "Swap limit equal to memory plus swap: '-1' to enable unlimited swap.", valueName: "bytes"))
    var memorySwap: String?

    @Option(
        name: .customLong("memory-swappiness"), parsing: .unconditional,
        help: ArgumentHelp("Tune container memory swappiness (0 to 100).", valueName: "int"))
    var memorySwappiness: Int64 = -1

    @Option(name: .long, help: ArgumentHelp("Assign a name to the container.", valueName: "string"))
    var name: String?

    @Option(
        name: [.customLong("network"), .customLong("net")],
        help: ArgumentHelp("Connect a container to a network (host, none, or a network name).", valueName: "network"))
    var network: String?

    @Option(
        name: .customLong("network-alias"),
        help: ArgumentHelp("Add network-scoped alias for the container.", valueName: "list"))
    var networkAliases: [String] = []

    @Option(name: .customLong("ip"), help: ArgumentHelp("IPv4 address (e.g., 172.30.100.104).", valueName: "string"))
    var ip: String?

    @Option(
        name: .customLong("mac-address"),
        help: ArgumentHelp("Container MAC address (e.g., 92:d0:c6:0a:29:33).", valueName: "string"))
    var macAddress: String?

    @Option(
        name: [.customShort("p"), .customLong("publish")],
        help: ArgumentHelp("Publish a container's port(s) to the host.", valueName: "list"))
    var publish: [String] = []

    @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Publish all exposed ports to random ports.")
    var publishAll = false

    @Option(name: .customLong("expose"), help: ArgumentHelp("Expose a port or a range of ports.", valueName: "list"))
    var expose: [String] = []

    @Option(name: .customLong("link"), help: ArgumentHelp("Add link to another container.", valueName: "list"))
    var links: [String] = []

    @Option(name: .customLong("dns"), help: ArgumentHelp("Set custom DNS servers.", valueName: "list"))
    var dns: [String] = []

    @Option(name: .customLong("dns-search"), help: ArgumentHelp("Set custom DNS search domains.", valueName: "list"))
    var dnsSearch: [String] = []

    @Option(
        name: .customLong("add-host"),
        help: ArgumentHelp("Add a custom host-to-IP mapping (host:ip).", valueName: "list"))
    var addHosts: [String] = []

    @Option(
        name: .customLong("pids-limit"), parsing: .unconditional,
        help: ArgumentHelp("Tune container pids limit (set -1 for unlimited).", valueName: "int"))
    var pidsLimit: Int64 = 0

    @Option(name: .long, help: ArgumentHelp("Set platform if server is multi-platform capable.", valueName: "string"))
    var platform: String?

    @Flag(name: .long, help: "Give extended privileges to this container.")
    var privileged = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Pull image before running (\"always\", \"missing\", \"never\").", valueName: "string"))
    var pull: String = "missing"

    @Flag(name: .customLong("read-only"), help: "Mount the container's root filesystem as read only.")
    var readOnly = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Restart policy to apply when a container exits (no, always, on-failure[:max-retries], unless-stopped).",
            valueName: "string"))
    var restart: String = "no"

    @Flag(
        name: .customLong("rm"),
        help: "Automatically remove the container and its associated anonymous volumes when it exits.")
    var autoRemove = false

    @Option(name: .customLong("security-opt"), help: ArgumentHelp("Security Options.", valueName: "option"))
    var securityOpt: [String] = []

    @Option(
        name: .customLong("stop-signal"),
        help: ArgumentHelp("Signal to stop the container.", valueName: "string"))
    var stopSignal: String?

    @Option(
        name: .customLong("stop-timeout"), parsing: .unconditional,
        help: ArgumentHelp("Timeout (in seconds) to stop a container.", valueName: "int"))
    var stopTimeout: Int?

    @Option(name: .customLong("tmpfs"), help: ArgumentHelp("Mount a tmpfs directory.", valueName: "list"))
    var tmpfs: [String] = []

    @Flag(name: .shortAndLong, help: "Allocate a pseudo-TTY.")
    var tty = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Bind mount a volume.", valueName: "list"))
    var volume: [String] = []

    @Option(
        name: .customLong("volume-driver"),
        help: ArgumentHelp("Optional volume driver for the container.", valueName: "string"))
    var volumeDriver: String = ""

    @Option(
        name: .customLong("volumes-from"),
        help: ArgumentHelp("Mount volumes from the specified container(s).", valueName: "list"))
    var volumesFrom: [String] = []

    @Option(
        name: .customLong("mount"),
        help: ArgumentHelp("Attach a filesystem mount to the container.", valueName: "mount"))
    var mount: [String] = []

    @Option(name: .customLong("ulimit"), help: ArgumentHelp("Ulimit options.", valueName: "name=soft[:hard]"))
    var ulimit: [String] = []

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("Username or UID (format: <name|uid>[:<group|gid>]).", valueName: "string"))
    var user: String?

    @Option(
        name: [.customShort("w"), .customLong("workdir")],
        help: ArgumentHelp("Working directory inside the container.", valueName: "string"))
    var workdir: String?

    @Argument(
        parsing: .captureForPassthrough,
        help: ArgumentHelp("The image, then the command and its arguments.", valueName: "image [command] [arg...]"))
    var imageAndCommand: [String] = []

    init() {}
}
