import Testing
@testable import BerthCore

struct BerthIntegrationTestsPlaceholder {}
