import BerthCore

/// A failure the CLI reports itself, with Docker's exit code and layout.
///
/// `Berth.main()` prints it to stderr and exits with `exitCode`:
/// - `.plain`: the message alone (`Error response from daemon: No such container: x`), exit 1 by default;
/// - `.withHelp(command)`: `berth: MESSAGE`, a blank line and `Run 'berth COMMAND --help' for more information`,
///   as `docker run` and `docker create` report daemon errors (exit 125, or 126/127 for start errors);
/// - `.usage(command, usage)`: a bad flag value: the message, the usage line and the help hint (exit 125).
struct CLIError: Error, Sendable, CustomStringConvertible {
    enum Style: Sendable, Equatable {
        case plain
        case withHelp(String)
        case usage(String, String)
    }

    var message: String
    var exitCode: Int32
    var style: Style

    init(_ message: String, exitCode: Int32 = 1, style: Style = .plain) {
        self.message = message
        self.exitCode = exitCode
        self.style = style
    }

    init(_ error: BerthError, exitCode: Int32 = 1) {
        self.init(error.message, exitCode: exitCode)
    }

    /// A bad value for a flag, worded like cobra: `invalid argument "12zz" for "-m, --memory" flag: …`.
    static func invalidFlag(_ value: String, _ flag: String, _ reason: String) -> CLIError {
        CLIError("invalid argument \"\(value)\" for \"\(flag)\" flag: \(reason)", exitCode: 125)
    }

    var description: String { message }

    /// The text printed to stderr.
    var rendered: String {
        switch style {
        case .plain:
            return message
        case .withHelp(let command):
            return "berth: \(message)\n\nRun 'berth \(command) --help' for more information"
        case .usage(let command, let usage):
            return "\(message)\n\nUsage:  \(usage)\n\nRun 'berth \(command) --help' for more information"
        }
    }

    /// The same error, shown in `command`'s usage layout.
    func asUsage(of command: String, _ usage: String) -> CLIError {
        CLIError(message, exitCode: 125, style: .usage(command, usage))
    }

    /// The same error, shown the way `docker run` shows daemon errors.
    func withHelp(_ command: String, exitCode: Int32 = 125) -> CLIError {
        CLIError(message, exitCode: exitCode, style: .withHelp(command))
    }
}
