/// Docker's JSON form of a seccomp profile.
///
/// Field names and meanings follow moby `profiles/seccomp` (`Seccomp`, `Syscall`, `Arg`, `Filter`). As with
/// Go's decoder, unknown members are ignored and `null` stands for an absent member; unlike it, the values are
/// validated here (actions, operators, architectures, argument indexes, errno ranges), so that a bad profile
/// fails when it is loaded rather than when a container starts.
extension SeccompProfile {
    /// Decodes a profile in Docker's JSON format.
    ///
    /// The legacy single `name` member of a syscall entry is accepted and becomes `names`.
    /// - Throws: `BerthError.invalidArgument` naming the offending member, for example
    ///   `seccomp profile: syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
    public init(json: JSONValue) throws(BerthError) {
        guard case .object = json else { throw profileError("", "must be a JSON object") }
        guard let actionText = try optionalString(json["defaultAction"], "defaultAction") else {
            throw profileError("defaultAction", "is required")
        }
        let defaultAction = try action(actionText, "defaultAction")
        let defaultErrnoRet = try errnoValue(json["defaultErrnoRet"], "defaultErrnoRet")

        let architectures = try stringList(json["architectures"], "architectures")
        for (i, arch) in architectures.enumerated() {
            try validateArchitecture(arch, "architectures[\(i)]")
        }

        var archMap: [ArchMapEntry] = []
        for (i, item) in try list(json["archMap"], "archMap").enumerated() {
            let path = "archMap[\(i)]"
            guard case .object = item else { throw profileError(path, "must be an object") }
            guard let arch = try optionalString(item["architecture"], "\(path).architecture") else {
                throw profileError("\(path).architecture", "is required")
            }
            try validateArchitecture(arch, "\(path).architecture")
            let subs = try stringList(item["subArchitectures"], "\(path).subArchitectures")
            for (j, sub) in subs.enumerated() {
                try validateArchitecture(sub, "\(path).subArchitectures[\(j)]")
            }
            archMap.append(ArchMapEntry(architecture: arch, subArchitectures: subs))
        }
        if !architectures.isEmpty, !archMap.isEmpty {
            throw profileError("architectures", "cannot be combined with archMap; use one or the other")
        }

        guard let syscallsValue = json["syscalls"], !syscallsValue.isNull else {
            self.init(
                defaultAction: defaultAction, defaultErrnoRet: defaultErrnoRet, architectures: architectures,
                archMap: archMap)
            return
        }
        guard case .array(let items) = syscallsValue else { throw profileError("syscalls", "must be an array") }
        var syscalls: [SyscallRule] = []
        for (i, item) in items.enumerated() {
            syscalls.append(try syscallRule(item, "syscalls[\(i)]"))
        }
        self.init(
            defaultAction: defaultAction, defaultErrnoRet: defaultErrnoRet, architectures: architectures,
            archMap: archMap, syscalls: syscalls)
    }

    /// The profile in Docker's JSON format, members in Docker's order; empty optional members are left out.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("defaultAction", .string(defaultAction.rawValue))]
        if let defaultErrnoRet { members.append(("defaultErrnoRet", .number(Double(defaultErrnoRet)))) }
        if !architectures.isEmpty { members.append(("architectures", .array(architectures.map(JSONValue.string)))) }
        if !archMap.isEmpty {
            members.append(
                (
                    "archMap",
                    .array(
                        archMap.map { entry in
                            .object([
                                ("architecture", .string(entry.architecture)),
                                ("subArchitectures", .array(entry.subArchitectures.map(JSONValue.string))),
                            ])
                        })
                ))
        }
        members.append(("syscalls", .array(syscalls.map(\.json))))
        return .object(members)
    }
}

extension SeccompProfile.SyscallRule {
    var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("names", .array(names.map(JSONValue.string))),
            ("action", .string(action.rawValue)),
        ]
        if let errnoRet { members.append(("errnoRet", .number(Double(errnoRet)))) }
        if !args.isEmpty { members.append(("args", .array(args.map(\.json)))) }
        if let comment { members.append(("comment", .string(comment))) }
        if !includes.isEmpty { members.append(("includes", includes.json)) }
        if !excludes.isEmpty { members.append(("excludes", excludes.json)) }
        return .object(members)
    }
}

extension SeccompProfile.ArgCondition {
    var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("index", .number(Double(index))),
            ("value", .number(Double(value))),
        ]
        if valueTwo != 0 { members.append(("valueTwo", .number(Double(valueTwo)))) }
        members.append(("op", .string(op.rawValue)))
        return .object(members)
    }
}

extension SeccompProfile.Filter {
    var json: JSONValue {
        var members: [(String, JSONValue)] = []
        if !caps.isEmpty { members.append(("caps", .array(caps.map(JSONValue.string)))) }
        if !arches.isEmpty { members.append(("arches", .array(arches.map(JSONValue.string)))) }
        if let minKernel { members.append(("minKernel", .string(minKernel))) }
        return .object(members)
    }
}

// MARK: - Decoding helpers

private func profileError(_ path: String, _ problem: String) -> BerthError {
    BerthError(.invalidArgument, path.isEmpty ? "seccomp profile: \(problem)" : "seccomp profile: \(path): \(problem)")
}

/// A string member, or nil when absent or `null`.
private func optionalString(_ value: JSONValue?, _ path: String) throws(BerthError) -> String? {
    guard let value, !value.isNull else { return nil }
    guard let text = value.stringValue else { throw profileError(path, "must be a string") }
    return text
}

/// An array member; absent or `null` is empty.
private func list(_ value: JSONValue?, _ path: String) throws(BerthError) -> [JSONValue] {
    guard let value, !value.isNull else { return [] }
    guard let items = value.arrayValue else { throw profileError(path, "must be an array") }
    return items
}

/// An array of strings; absent or `null` is empty.
private func stringList(_ value: JSONValue?, _ path: String) throws(BerthError) -> [String] {
    var strings: [String] = []
    for (i, item) in try list(value, path).enumerated() {
        guard let text = item.stringValue else { throw profileError("\(path)[\(i)]", "must be a string") }
        strings.append(text)
    }
    return strings
}

/// A non-negative integer that fits an `SCMP_ACT_ERRNO` return value (16 bits), or nil when absent.
private func errnoValue(_ value: JSONValue?, _ path: String) throws(BerthError) -> Int? {
    guard let value, !value.isNull else { return nil }
    guard let number = value.intValue, (0...0xFFFF).contains(number) else {
        throw profileError(path, "must be an integer from 0 to 65535")
    }
    return number
}

private func uint64Value(_ value: JSONValue?, _ path: String) throws(BerthError) -> UInt64? {
    guard let value, !value.isNull else { return nil }
    guard let number = value.uint64Value else { throw profileError(path, "must be a non-negative integer") }
    return number
}

private func action(_ text: String, _ path: String) throws(BerthError) -> SeccompProfile.Action {
    guard let action = SeccompProfile.Action(rawValue: text) else {
        let known = SeccompProfile.Action.allCases.map(\.rawValue).joined(separator: ", ")
        throw profileError(path, "unknown action \"\(text)\" (expected one of \(known))")
    }
    return action
}

private func validateArchitecture(_ name: String, _ path: String) throws(BerthError) {
    guard SeccompProfile.libseccompArchitecture(name) != nil else {
        throw profileError(path, "unknown architecture \"\(name)\" (expected an SCMP_ARCH_* name)")
    }
}

private func syscallRule(_ item: JSONValue, _ path: String) throws(BerthError) -> SeccompProfile.SyscallRule {
    guard case .object = item else { throw profileError(path, "must be an object") }
    var names = try stringList(item["names"], "\(path).names")
    if let name = try optionalString(item["name"], "\(path).name") {
        guard names.isEmpty else { throw profileError(path, "has both name and names; use one or the other") }
        names = [name]
    }
    guard !names.isEmpty else { throw profileError("\(path).names", "must list at least one syscall") }
    for (i, name) in names.enumerated() where name.isEmpty {
        throw profileError("\(path).names[\(i)]", "must not be empty")
    }
    guard let actionText = try optionalString(item["action"], "\(path).action") else {
        throw profileError("\(path).action", "is required")
    }
    let ruleAction = try action(actionText, "\(path).action")
    let errnoRet = try errnoValue(item["errnoRet"], "\(path).errnoRet")

    var args: [SeccompProfile.ArgCondition] = []
    for (i, arg) in try list(item["args"], "\(path).args").enumerated() {
        args.append(try argCondition(arg, "\(path).args[\(i)]"))
    }
    return SeccompProfile.SyscallRule(
        names: names, action: ruleAction, errnoRet: errnoRet, args: args,
        comment: try optionalString(item["comment"], "\(path).comment"),
        includes: try filter(item["includes"], "\(path).includes"),
        excludes: try filter(item["excludes"], "\(path).excludes"))
}

private func argCondition(_ item: JSONValue, _ path: String) throws(BerthError) -> SeccompProfile.ArgCondition {
    guard case .object = item else { throw profileError(path, "must be an object") }
    guard let index = item["index"]?.intValue, (0...5).contains(index) else {
        throw profileError("\(path).index", "must be an integer from 0 to 5")
    }
    guard let value = try uint64Value(item["value"], "\(path).value") else {
        throw profileError("\(path).value", "is required")
    }
    let valueTwo = try uint64Value(item["valueTwo"], "\(path).valueTwo") ?? 0
    guard let opText = try optionalString(item["op"], "\(path).op") else {
        throw profileError("\(path).op", "is required")
    }
    guard let op = SeccompProfile.Operator(rawValue: opText) else {
        let known = SeccompProfile.Operator.allCases.map(\.rawValue).joined(separator: ", ")
        throw profileError("\(path).op", "unknown operator \"\(opText)\" (expected one of \(known))")
    }
    return SeccompProfile.ArgCondition(index: index, value: value, valueTwo: valueTwo, op: op)
}

private func filter(_ value: JSONValue?, _ path: String) throws(BerthError) -> SeccompProfile.Filter {
    guard let value, !value.isNull else { return SeccompProfile.Filter() }
    guard case .object = value else { throw profileError(path, "must be an object") }
    let minKernel = try optionalString(value["minKernel"], "\(path).minKernel")
    if let minKernel, SeccompProfile.KernelVersion(minKernel) == nil {
        throw profileError("\(path).minKernel", "\"\(minKernel)\" is not a kernel version such as \"4.8\"")
    }
    return SeccompProfile.Filter(
        caps: try stringList(value["caps"], "\(path).caps"),
        arches: try stringList(value["arches"], "\(path).arches"),
        minKernel: minKernel)
}
