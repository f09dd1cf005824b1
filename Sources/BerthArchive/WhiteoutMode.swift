/// How `LayerApplier` turns OCI whiteout entries (`.wh.NAME`, `.wh..wh..opq`) into files on disk.
public enum WhiteoutMode: Sendable, Equatable {
    /// Each layer lives in its own directory, stacked by overlayfs: `.wh.NAME` becomes a character device 0:0
    /// named `NAME` (an overlay whiteout) and `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory.
    case overlay
    /// Layers are flattened into one directory: `.wh.NAME` removes `NAME` (recursively) and `.wh..wh..opq`
    /// removes every child of its directory that was not extracted from the same layer.
    case apply
    /// Not a layer (`docker cp` into a container): `.wh.` names are ordinary files.
    case none
}
