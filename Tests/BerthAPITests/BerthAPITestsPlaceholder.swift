import Testing
@testable import BerthAPI

struct BerthAPITestsPlaceholder {}
