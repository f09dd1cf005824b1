import Testing
@testable import BerthRuntime

struct BerthRuntimeTestsPlaceholder {}
