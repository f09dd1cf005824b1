import Testing
@testable import BerthImage

struct BerthImageTestsPlaceholder {}
