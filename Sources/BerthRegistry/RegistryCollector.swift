import BerthCore

/// The offline garbage collection: takes the root's lock (refused while a registry serves it), then sweeps.
public enum RegistryCollector {
    public static func collect(root: String, deleteUntagged: Bool, dryRun: Bool) throws(BerthError)
        -> RegistryStore.CollectionReport
    {
        let lock = try RootLock(root: root, purpose: "gc")
        defer { withExtendedLifetime(lock) {} }
        return try RegistryStore(root: root).collectGarbage(deleteUntagged: deleteUntagged, dryRun: dryRun)
    }
}
