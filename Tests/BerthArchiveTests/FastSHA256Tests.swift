import BerthArchive
import BerthCore
import Testing

struct FastSHA256Tests {
    @Test func matchesTheStandardVectorsAndTheSwiftImplementation() {
        #expect(
            FastSHA256.hash(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(FastSHA256.hash([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // Fed in uneven pieces, the same as in one go and as BerthCore's SHA256.
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let h = FastSHA256()
        var i = 0
        for step in [1, 63, 64, 65, 1000, 4097] where i < data.count {
            h.update(data[i..<min(data.count, i + step)])
            i += step
        }
        h.update(data[i...])
        #expect(h.finalizeHex() == SHA256.hash(data))
    }
}
