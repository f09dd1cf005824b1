import ArgumentParser

/// Commands that act on several objects (`stop a b`, `rm a b`) go on after a failure, as the docker CLI does:
/// each error is printed when it happens and the command exits 1 at the end.
enum Batch {
    /// - Parameter summary: a last line naming the failures (`start` prints
    ///   `Error: failed to start containers: a, b`).
    static func run(_ names: [String], summary: String? = nil, _ body: (String) throws(CLIError) -> Void) throws {
        var failed: [String] = []
        for name in names {
            do { try body(name) } catch {
                Output.error(error.rendered)
                failed.append(name)
            }
        }
        guard failed.isEmpty else {
            if let summary { Output.error("Error: \(summary): \(failed.joined(separator: ", "))") }
            throw ExitCode(1)
        }
    }
}
