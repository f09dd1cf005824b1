/// The arguments of COPY and ADD.
public struct FileTransfer: Sendable, Equatable {
    /// Source paths (or, for ADD, URLs and git references) in order, heredoc sources excluded.
    public var sources: [String]
    /// Heredoc sources (`COPY <<EOF /dest`): files named after the heredoc, holding its body.
    public var inlineSources: [Heredoc]
    public var destination: String
    /// `--from=stage|image|index` (COPY only).
    public var from: String?
    /// `--chown=user:group`.
    public var chown: String?
    /// `--chmod=mode`.
    public var chmod: String?
    /// `--checksum=sha256:…` (ADD only).
    public var checksum: String?
    /// `--link`.
    public var link: Bool
    /// `--exclude=pattern`, repeatable.
    public var excludes: [String]
    /// The arguments were a JSON array (`COPY ["a b", "/dst/"]`).
    public var isJSONForm: Bool

    public init(
        sources: [String], inlineSources: [Heredoc] = [], destination: String, from: String? = nil,
        chown: String? = nil, chmod: String? = nil, checksum: String? = nil, link: Bool = false,
        excludes: [String] = [], isJSONForm: Bool = false
    ) {
        self.sources = sources
        self.inlineSources = inlineSources
        self.destination = destination
        self.from = from
        self.chown = chown
        self.chmod = chmod
        self.checksum = checksum
        self.link = link
        self.excludes = excludes
        self.isJSONForm = isJSONForm
    }
}
