import Testing
@testable import BerthCLI

struct BerthCLITestsPlaceholder {}
