import BerthCore

/// Layers being created right now, so that a parent cannot be removed while a child is copied from it and an ID
/// cannot be created twice at once. Guarded by the driver's mutex.
struct LayerRegistry: Sendable {
    /// IDs being created.
    var creating: Set<String> = []
    /// Parent ID -> number of children being created on top of it.
    var pendingChildren: [String: Int] = [:]

    mutating func begin(_ id: String, parent: String?) {
        creating.insert(id)
        if let parent { pendingChildren[parent, default: 0] += 1 }
    }

    mutating func end(_ id: String, parent: String?) {
        creating.remove(id)
        if let parent {
            let n = (pendingChildren[parent] ?? 1) - 1
            pendingChildren[parent] = n > 0 ? n : nil
        }
    }

    /// Whether `id` is being created or has a child being created.
    func isBusy(_ id: String) -> Bool {
        creating.contains(id) || pendingChildren[id] != nil
    }

    /// Whether `id` can name a directory: not empty, no `/`, not starting with `.`, at most 255 bytes.
    static func isValid(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 255 && !id.hasPrefix(".") && !id.contains("/") && !id.contains(":")
            && !id.contains(",") && !id.utf8.contains(0)
    }

    static func validate(_ id: String) throws(BerthError) {
        guard isValid(id) else { throw .invalidArgument("invalid layer id \"\(id)\"") }
    }
}
