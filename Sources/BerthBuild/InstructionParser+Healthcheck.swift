import BerthCore
import BerthDockerIgnore

/// HEALTHCHECK: `NONE`, or
/// `[--interval=…] [--timeout=…] [--start-period=…] [--start-interval=…] [--retries=…] CMD command`.
extension InstructionParser {
    func healthcheck(_ args: String, _ instruction: Instruction) throws(BerthError) -> Healthcheck {
        let s = args.scalars
        let typeEnd = s.firstIndex(where: \.isSpace) ?? s.count
        guard typeEnd > 0 else { throw .invalidArgument("HEALTHCHECK requires at least one argument") }
        let type = String(scalars: s[..<typeEnd]).uppercased()
        let rest = String(scalars: s[typeEnd...].drop(while: \.isSpace))
        if type == "NONE" {
            guard rest.isEmpty else { throw .invalidArgument("HEALTHCHECK NONE takes no arguments") }
            return Healthcheck(test: ["NONE"])
        }
        guard type == "CMD" else {
            throw .invalidArgument("Unknown type \(type.goQuoted) in HEALTHCHECK (try CMD)")
        }
        var check = Healthcheck(test: [])
        let form = try rest.isEmpty ? CommandForm.exec([]) : commandForm(rest)
        switch form {
        case .exec(let argv):
            guard !argv.isEmpty else { throw .invalidArgument("Missing command after HEALTHCHECK CMD") }
            check.test = ["CMD"] + argv
        case .shell(let command):
            check.test = ["CMD-SHELL", command]
        }
        check.interval = try Self.duration(instruction, "interval")
        check.timeout = try Self.duration(instruction, "timeout")
        check.startPeriod = try Self.duration(instruction, "start-period")
        check.startInterval = try Self.duration(instruction, "start-interval")
        if let text = instruction.flag("retries"), !text.isEmpty {
            guard let retries = Int32(text) else {
                throw .invalidArgument("strconv.ParseInt: parsing \(text.goQuoted): invalid syntax")
            }
            guard retries >= 0 else { throw .invalidArgument("--retries cannot be negative (\(retries))") }
            check.retries = Int(retries)
        }
        return check
    }

    /// A duration flag in nanoseconds (Go syntax: `30s`, `1m30s`, `500ms`); 0 when absent or zero.
    /// - Throws: for text Go's `time.ParseDuration` rejects, and for a duration under 1ms.
    private static func duration(_ instruction: Instruction, _ name: String) throws(BerthError) -> Int64 {
        guard let text = instruction.flag(name), !text.isEmpty else { return 0 }
        guard let seconds = TimeText.parseDuration(text), seconds.isFinite, abs(seconds) < 9.2e9 else {
            throw .invalidArgument("time: invalid duration \(text.goQuoted)")
        }
        let nanoseconds = Int64((seconds * 1e9).rounded())
        if nanoseconds == 0 { return 0 }
        guard nanoseconds >= 1_000_000 else {
            throw .invalidArgument("Interval \(name.goQuoted) cannot be less than 1ms")
        }
        return nanoseconds
    }
}
