import BerthCore
import BerthDockerIgnore

/// A parsed Dockerfile: its parser directives, the ARGs before the first FROM and the build stages.
///
/// Parsing is pure: nothing is expanded and nothing is read besides the text. The builder walks `stages`, keeps
/// the environment of each step, and calls `Instruction.resolved(env:)` to get the arguments expanded:
///
/// ```swift
/// let dockerfile = try Dockerfile.parse(text)
/// let metaEnv = ["BASE": "alpine:3.20"]          // the meta ARGs' defaults, overridden by --build-arg
/// for stage in dockerfile.stages {
///     guard case .from(let image, _, _) = try stage.from.resolved(env: metaEnv) else { continue }
///     var env = imageConfigEnv(image)             // then each ENV and ARG step updates `env`
///     for instruction in stage.instructions {
///         let kind = try instruction.resolved(env: env)
///         …
///     }
/// }
/// ```
public struct Dockerfile: Sendable, Equatable {
    /// The `# syntax=` directive's value (a frontend image Docker would use; Berth only records it).
    public var syntax: String?
    /// `\` by default, or `` ` `` after the `# escape=` directive.
    public var escapeCharacter: Character
    /// The ARG instructions before the first FROM: the only variables FROM lines can use.
    public var metaArgs: [Instruction]
    /// The stages in order; never empty.
    public var stages: [BuildStage]

    public init(syntax: String? = nil, escapeCharacter: Character = "\\", metaArgs: [Instruction], stages: [BuildStage])
    {
        self.syntax = syntax
        self.escapeCharacter = escapeCharacter
        self.metaArgs = metaArgs
        self.stages = stages
    }

    /// Every instruction in file order: the meta ARGs, then each stage's FROM and instructions. Docker numbers
    /// `Step N/M` over this list.
    public var instructions: [Instruction] {
        metaArgs + stages.flatMap { [$0.from] + $0.instructions }
    }

    /// The stage called `name` (compared lower-cased, as stage names are stored), or nil.
    public func stage(named name: String) -> BuildStage? {
        let lower = name.lowercased()
        return stages.first { $0.name == lower }
    }

    /// A lexer with this Dockerfile's escape character, for expanding text the builder gets from elsewhere.
    public var lexer: ShellLex { ShellLex(escape: escapeCharacter) }

    /// Parses Dockerfile text.
    ///
    /// Follows Docker's reference and buildkit's parser: parser directives, comments, line continuations (blank
    /// and comment lines inside them skipped), CRLF line ends, case-insensitive keywords, `--flags`, JSON and
    /// shell forms, heredocs, meta ARGs and stages. Values stay unexpanded.
    /// - Throws: `BerthError.invalidArgument` with Docker's wording, naming the line:
    ///   `dockerfile parse error on line 3: unknown instruction: FOO`. Also for a file with no instructions, an
    ///   instruction other than ARG before the first FROM (`no build stage in current context`), no FROM at
    ///   all, a repeated stage name and an unterminated heredoc.
    public static func parse(_ text: String) throws(BerthError) -> Dockerfile {
        var reader = DockerfileLineReader(text: text)
        var instructions: [Instruction] = []
        while let (line, start, _) = try reader.nextLogicalLine() {
            let parser = InstructionParser(escape: reader.escape)
            var heredocs: [Heredoc] = []
            if TextScan.find(["<", "<"], in: line.scalars) != nil, parser.acceptsHeredocs(line) {
                for marker in Heredoc.markers(inLine: line) {
                    guard let heredoc = reader.readBody(of: marker) else {
                        throw error(line: start, "unterminated heredoc")
                    }
                    heredocs.append(heredoc)
                }
            }
            do {
                instructions.append(try parser.parse(line, start: start, end: reader.linesRead, heredocs: heredocs))
            } catch {
                throw Self.error(line: start, error.message)
            }
        }
        guard !instructions.isEmpty else {
            throw .invalidArgument("dockerfile parse error: file with no instructions")
        }
        var dockerfile = Dockerfile(
            syntax: reader.syntax, escapeCharacter: Character(reader.escape), metaArgs: [], stages: [])
        for instruction in instructions {
            if case .from(let image, let name, let platform) = instruction.kind {
                if let name, dockerfile.stages.contains(where: { $0.name == name }) {
                    throw error(line: instruction.line, "duplicate stage name \(name.goQuoted)")
                }
                dockerfile.stages.append(
                    BuildStage(
                        index: dockerfile.stages.count, name: name, baseImage: image, platform: platform,
                        from: instruction, instructions: []))
            } else if dockerfile.stages.isEmpty {
                guard case .arg = instruction.kind else {
                    throw error(line: instruction.line, "no build stage in current context")
                }
                dockerfile.metaArgs.append(instruction)
            } else {
                dockerfile.stages[dockerfile.stages.count - 1].instructions.append(instruction)
            }
        }
        guard !dockerfile.stages.isEmpty else {
            throw .invalidArgument("dockerfile parse error: dockerfile contains no stages to build")
        }
        return dockerfile
    }

    private static func error(line: Int, _ message: String) -> BerthError {
        .invalidArgument("dockerfile parse error on line \(line): \(message)")
    }
}

/// One stage of a Dockerfile: a FROM and the instructions up to the next FROM.
public struct BuildStage: Sendable, Equatable {
    /// The stage's position, from 0 (`COPY --from=0` refers to it).
    public var index: Int
    /// The `AS` name, lower-cased; nil for an unnamed stage.
    public var name: String?
    /// The image as written (`alpine:$VERSION`): expand it with the meta ARGs.
    public var baseImage: String
    /// The `--platform` flag as written.
    public var platform: String?
    /// The FROM instruction itself.
    public var from: Instruction
    /// The instructions after FROM, in order.
    public var instructions: [Instruction]

    public init(
        index: Int, name: String?, baseImage: String, platform: String?, from: Instruction, instructions: [Instruction]
    ) {
        self.index = index
        self.name = name
        self.baseImage = baseImage
        self.platform = platform
        self.from = from
        self.instructions = instructions
    }
}
