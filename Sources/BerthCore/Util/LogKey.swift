/// Metadata keys for structured logging, shared by every module.
public enum LogKey {
    public static let container = "container"
    public static let image = "image"
    public static let layer = "layer"
    public static let driver = "driver"
    public static let network = "network"
    public static let pid = "pid"
    public static let path = "path"
    public static let error = "error"
    public static let request = "request"
}
