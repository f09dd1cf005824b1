import Testing
@testable import BerthNetworkBasic

struct BerthNetworkBasicTestsPlaceholder {}
