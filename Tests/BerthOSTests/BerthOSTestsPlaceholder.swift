import Testing
@testable import BerthOS

struct BerthOSTestsPlaceholder {}
