import Testing

@testable import BerthCore

struct IdentifierTests {
    /// Docker's rule: `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$` (so at least two characters).
    @Test(arguments: ["ab", "web-1", "my_app.v2", "A1", "0x", "a.-_"])
    func validNames(_ name: String) {
        #expect(Identifier.isValidName(name))
    }

    @Test(arguments: ["", "a", "-web", "_x", ".x", "web 1", "web/1", "wéb", "a:b", "/web"])
    func invalidNames(_ name: String) {
        #expect(!Identifier.isValidName(name))
    }

    @Test func randomIDsAre64LowerHexAndDistinct() {
        let ids = (0..<50).map { _ in Identifier.random() }
        #expect(Set(ids).count == 50)
        for id in ids {
            #expect(id.count == 64)
            #expect(id.allSatisfy { "0123456789abcdef".contains($0) })
        }
    }
}
