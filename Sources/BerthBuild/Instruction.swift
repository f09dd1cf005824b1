/// One parsed Dockerfile instruction: where it is, how it was written, its flags, heredocs and typed arguments.
public struct Instruction: Sendable, Equatable {
    /// The instruction word, upper-cased (`RUN` for `run`).
    public var keyword: String
    /// The 1-based line where the instruction starts.
    public var line: Int
    /// The 1-based line where it ends (its last continuation line or heredoc terminator).
    public var endLine: Int
    /// The instruction as written, continuation lines joined (the escape characters that continued them and the
    /// comment lines in between removed), leading and trailing white space trimmed, heredoc bodies not included.
    /// Docker's classic builder prints this after `Step N/M : `.
    public var original: String
    /// The `--name[=value]` flags written before the arguments, in order.
    public var flags: [InstructionFlag]
    /// Heredoc bodies, for RUN, COPY and ADD (and ONBUILD of those: see the nested instruction).
    public var heredocs: [Heredoc]
    public var kind: InstructionKind
    /// The Dockerfile's escape character, which `resolved(env:)` expands with.
    public var escapeCharacter: Character

    public init(
        keyword: String, line: Int, endLine: Int, original: String, flags: [InstructionFlag] = [],
        heredocs: [Heredoc] = [], kind: InstructionKind, escapeCharacter: Character = "\\"
    ) {
        self.keyword = keyword
        self.line = line
        self.endLine = endLine
        self.original = original
        self.flags = flags
        self.heredocs = heredocs
        self.kind = kind
        self.escapeCharacter = escapeCharacter
    }

    /// The value of the last `--name` flag: its text, `"true"` for a bare boolean flag, nil when absent.
    public func flag(_ name: String) -> String? {
        guard let last = flags.last(where: { $0.name == name }) else { return nil }
        return last.value ?? "true"
    }

    /// Every value of a repeatable flag (`--mount`, `--exclude`), in order.
    public func flagValues(_ name: String) -> [String] {
        flags.filter { $0.name == name }.map { $0.value ?? "true" }
    }
}

/// One `--name=value` (or bare `--name`) flag of an instruction, quotes already removed.
public struct InstructionFlag: Sendable, Equatable {
    /// The name without the leading `--`.
    public var name: String
    /// The text after `=`; nil for a bare `--name`.
    public var value: String?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}
