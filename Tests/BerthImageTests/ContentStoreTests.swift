import BerthCore
import BerthOS
import BerthTestSupport
import Glibc
import Testing

@testable import BerthImage

struct ContentStoreTests {
    @Test func putStoresByDigestAndReadVerifies() throws {
        try withTemporaryDirectory { dir in
            let store = try ContentStore(root: dir)
            #expect(FileSystem.isDirectory(dir + "/content/blobs/sha256"))
            #expect(FileSystem.isDirectory(dir + "/content/tmp"))

            let digest = try store.put(Array("abc".utf8))
            let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            #expect(digest == "sha256:" + hex)
            #expect(store.exists(hex: hex))
            #expect(store.path(hex: hex) == dir + "/content/blobs/sha256/" + hex)
            #expect(try store.read(hex: hex) == Array("abc".utf8))
            // Putting the same bytes again is a no-op with the same digest.
            #expect(try store.put(Array("abc".utf8)) == digest)
            #expect(try FileSystem.list(dir + "/content/blobs/sha256") == [hex])

            store.remove(hex: hex)
            #expect(!store.exists(hex: hex))
            #expect(throws: BerthError.self) { try store.read(hex: hex) }
        }
    }

    @Test func corruptBlobIsDetected() throws {
        try withTemporaryDirectory { dir in
            let store = try ContentStore(root: dir)
            let digest = try store.put(Array(#"{"architecture":"amd64"}"#.utf8))
            let hex = String(digest.dropFirst("sha256:".count))
            try FileSystem.writeFile(store.path(hex: hex), #"{"architecture":"arm64"}"#)
            do throws(BerthError) {
                _ = try store.read(hex: hex)
                Issue.record("corrupt blob read without error")
            } catch {
                #expect(error.code == .internalError)
                #expect(error.message == "blob sha256:\(hex) is corrupt")
            }
        }
    }

    @Test func adoptChecksTheDigestBeforeMovingTheFileIn() throws {
        try withTemporaryDirectory { dir in
            let store = try ContentStore(root: dir)
            let bytes = Array("layer tar bytes".utf8)
            let hex = SHA256.hash(bytes)

            let wrong = dir + "/content/tmp/wrong"
            try FileSystem.writeFile(wrong, bytes)
            do throws(BerthError) {
                try store.adopt(file: wrong, hex: String(repeating: "0", count: 64))
                Issue.record("adopted a file under the wrong digest")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.hasPrefix("digest mismatch"))
            }
            #expect(!store.exists(hex: String(repeating: "0", count: 64)))

            let good = dir + "/content/tmp/good"
            try FileSystem.writeFile(good, bytes)
            try store.adopt(file: good, hex: hex)
            #expect(!FileSystem.exists(good))
            #expect(try store.read(hex: hex) == bytes)

            // A blob already present: the new copy is dropped.
            let again = dir + "/content/tmp/again"
            try FileSystem.writeFile(again, bytes)
            try store.adopt(file: again, hex: hex)
            #expect(!FileSystem.exists(again))
            #expect(try FileSystem.list(dir + "/content/blobs/sha256") == [hex])
        }
    }

    /// At start the temporary directory keeps only recent partial downloads (for a resumed pull); an abandoned
    /// one, a day old, and the leftovers of a crash go.
    @Test func sweepKeepsRecentPartialDownloadsOnly() throws {
        try withTemporaryDirectory { dir in
            let store = try ContentStore(root: dir)
            let tmp = store.tmpDir
            try FileSystem.writeFile(tmp + "/recent.partial", "half")
            try FileSystem.writeFile(tmp + "/old.partial", "half")
            var times = [
                timespec(tv_sec: time(nil) - 2 * 86400, tv_nsec: 0),
                timespec(tv_sec: time(nil) - 2 * 86400, tv_nsec: 0),
            ]
            #expect(utimensat(AT_FDCWD, tmp + "/old.partial", &times, 0) == 0)
            try FileSystem.writeFile(tmp + "/commit-1234.tar", "leftover")
            try FileSystem.createDirectory(tmp + "/load-5678/entries")
            #expect(store.sweepTemporaryFiles(partialAge: 86400) == 3)
            #expect(try FileSystem.list(tmp) == ["recent.partial"])
        }
    }
}
