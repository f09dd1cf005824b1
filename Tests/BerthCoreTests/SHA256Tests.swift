import Testing

@testable import BerthCore

struct SHA256Tests {
    private static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func nistVectors() {
        #expect(SHA256.hash([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Self.bytes("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hash(Self.bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            SHA256.hash(
                Self.bytes(
                    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
                )) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test func oneMillionAs() {
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hash(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")

        // The same, fed in 1000 updates of 1000 bytes.
        var h = SHA256()
        let thousand = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { h.update(thousand) }
        #expect(h.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Messages whose padding ends exactly at, or spills past, a block boundary.
    @Test func paddingBoundaries() {
        let expected: [(Int, String)] = [
            (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
            (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
            (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
            (119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"),
            (120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"),
        ]
        for (count, hex) in expected {
            #expect(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: count)) == hex, "\(count) bytes")
        }
    }

    @Test func incrementalUpdatesAtOddBoundariesEqualOneShot() {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let oneShot = SHA256.hash(data)
        let splits: [[Int]] = [
            [1, 63, 64, 65, 127, 3, 1, 676],
            [0, 1000],
            [7, 0, 121, 57, 815],
            [64, 64, 64, 808],
            [999, 1],
        ]
        for sizes in splits {
            #expect(sizes.reduce(0, +) == data.count)
            var h = SHA256()
            var offset = 0
            for n in sizes {
                h.update(data[offset..<offset + n])  // slices: a non-Array collection
                offset += n
            }
            #expect(h.finalizeHex() == oneShot, "split \(sizes)")
        }
        // Byte by byte, and through raw buffers.
        var single = SHA256()
        for b in data { single.update(CollectionOfOne(b)) }
        #expect(single.finalizeHex() == oneShot)
        var raw = SHA256()
        data.withUnsafeBytes { p in
            raw.update(UnsafeRawBufferPointer(rebasing: p[0..<333]))
            raw.update(UnsafeRawBufferPointer(rebasing: p[333...]))
        }
        #expect(raw.finalizeHex() == oneShot)
    }

    @Test func finalizeReturnsThirtyTwoBytesAndHexIsLowerCase() {
        var h = SHA256()
        h.update(Array("abc".utf8))
        let digest = h.finalize()
        #expect(digest.count == 32)
        #expect(digest.prefix(4) == [0xba, 0x78, 0x16, 0xbf])
        #expect(SHA256.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
    }
}
