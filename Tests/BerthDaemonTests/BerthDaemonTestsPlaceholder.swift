import Testing
@testable import BerthDaemon

struct BerthDaemonTestsPlaceholder {}
