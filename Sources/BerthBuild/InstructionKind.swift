/// What one Dockerfile instruction says, with its arguments typed.
///
/// Values the builder expands with variables (FROM, COPY/ADD, ENV, ARG, LABEL, WORKDIR, USER, EXPOSE, VOLUME,
/// STOPSIGNAL) are kept here exactly as written, quotes and `$` included, because the environment changes from
/// step to step; `Instruction.resolved(env:)` returns the same kind with them expanded. Exec forms, shell forms,
/// SHELL, HEALTHCHECK and MAINTAINER are never expanded by the builder.
public enum InstructionKind: Sendable, Equatable {
    /// `FROM [--platform=…] image [AS name]`: `stageName` is lower-cased; `platform` is the raw flag value.
    case from(image: String, stageName: String?, platform: String?)
    /// `RUN`: flags such as `--mount`, `--network` and `--security` stay in `Instruction.flags`; heredocs in
    /// `Instruction.heredocs`. An empty RUN is `.shell("")`, as Docker runs it.
    case run(CommandForm)
    /// `CMD`: an empty CMD is `.shell("")`.
    case cmd(CommandForm)
    /// `ENTRYPOINT`: an empty ENTRYPOINT is `.shell("")`, which Docker treats as clearing the entrypoint.
    case entrypoint(CommandForm)
    case copy(FileTransfer)
    case add(FileTransfer)
    /// `ENV`: the pairs in order; the legacy `ENV name value with spaces` form gives one pair.
    case env([KeyValuePair])
    /// `ARG`: one or more names with optional defaults.
    case arg([ArgDefinition])
    case label([KeyValuePair])
    case workdir(String)
    case user(String)
    /// `EXPOSE`: the raw words (`80`, `443/tcp`, `$PORT`).
    case expose([String])
    /// `VOLUME`: the JSON array's strings or the raw words.
    case volume([String])
    case stopSignal(String)
    case healthcheck(Healthcheck)
    /// `SHELL`: always the exec (JSON) form.
    case shell([String])
    /// `ONBUILD`: the trigger instruction (never ONBUILD, FROM or MAINTAINER) and the expression an image's
    /// `OnBuild` list stores for it (the text after `ONBUILD`, heredoc bodies appended as written).
    indirect case onbuild(Instruction, expression: String)
    /// `MAINTAINER` (deprecated): the text as written.
    case maintainer(String)
}

/// The two ways to write RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD.
public enum CommandForm: Sendable, Equatable {
    /// The JSON array form, run without a shell: `["executable", "arg"]`.
    case exec([String])
    /// The shell form, run with the stage's SHELL (`/bin/sh -c` by default): the text as written, variables
    /// left for the shell.
    case shell(String)
}

/// One `key=value` of ENV or LABEL, as written (quotes and variables still in place until resolved).
public struct KeyValuePair: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// One name of an ARG instruction, with its default when one was written (`ARG name=default`).
public struct ArgDefinition: Sendable, Equatable {
    public var name: String
    /// The default as written; nil for `ARG name`, `""` for `ARG name=`.
    public var defaultValue: String?

    public init(name: String, defaultValue: String? = nil) {
        self.name = name
        self.defaultValue = defaultValue
    }
}
