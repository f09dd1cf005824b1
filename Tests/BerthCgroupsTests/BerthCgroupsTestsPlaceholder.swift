import Testing
@testable import BerthCgroups

struct BerthCgroupsTestsPlaceholder {}
