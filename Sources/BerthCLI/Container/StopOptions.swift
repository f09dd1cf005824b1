import ArgumentParser

/// The options `stop` and `restart` share, and the request both send for each container.
struct StopOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Signal to send to the container.", valueName: "string"))
    var signal: String?

    @Option(
        name: [.customShort("t"), .customLong("timeout"), .customLong("time")], parsing: .unconditional,
        help: ArgumentHelp("Seconds to wait before killing the container.", valueName: "int"))
    var timeout: Int?

    /// `POST /containers/NAME/<action>` for each container, printing each name as Docker does.
    func send(_ action: String, to containers: [String], daemon: Daemon) throws {
        var query: [(String, String)] = []
        if let signal { query.append(("signal", signal)) }
        if let timeout { query.append(("t", String(timeout))) }
        try Batch.run(containers) { name throws(CLIError) in
            try daemon.checked("POST", "/containers/\(Daemon.escape(name))/\(action)", query: query)
            Output.line(name)
        }
    }
}
