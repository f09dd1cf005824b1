import BerthCore
import BerthTestSupport
import Glibc
import Testing

@testable import BerthOS

struct FileSystemTests {
    private func mode(_ path: String) -> mode_t {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        return st.st_mode & 0o7777
    }

    @Test func writeFileAtomicWritesContentAndModeAndLeavesNoTemporaryFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/config.json"
            try FileSystem.writeFileAtomic(path, #"{"a":1}"#, mode: 0o600)
            #expect(try FileSystem.readText(path) == #"{"a":1}"#)
            #expect(mode(path) == 0o600)
            #expect(try FileSystem.list(dir) == ["config.json"])

            let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try FileSystem.writeFileAtomic(dir + "/big", big)
            #expect(try FileSystem.readFile(dir + "/big") == big)
            #expect(mode(dir + "/big") == 0o644)
        }
    }

    @Test func writeFileAtomicReplacesAnExistingFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/state"
            try FileSystem.writeFile(path, "old content that is longer", mode: 0o644)
            var before = stat()
            lstat(path, &before)
            try FileSystem.writeFileAtomic(path, "new", mode: 0o640)
            var after = stat()
            lstat(path, &after)
            #expect(try FileSystem.readText(path) == "new")
            #expect(mode(path) == 0o640)
            #expect(before.st_ino != after.st_ino, "replaced by rename, not rewritten in place")
            #expect(try FileSystem.list(dir) == ["state"])
        }
    }

    @Test func writeFileAtomicFailureLeavesNothingBehind() throws {
        try withTemporaryDirectory { dir in
            // The target is a non-empty directory: rename fails, and the temporary file is removed.
            try FileSystem.createDirectory(dir + "/target/sub")
            do throws(BerthError) {
                try FileSystem.writeFileAtomic(dir + "/target", "x")
                Issue.record("rename over a directory succeeded")
            } catch {
                #expect(error.message.hasPrefix("rename "))
            }
            #expect(try FileSystem.list(dir) == ["target"])
            #expect(try FileSystem.list(dir + "/target") == ["sub"])
            // A missing directory: open fails with notFound.
            #expect(throws: BerthError.self) { try FileSystem.writeFileAtomic(dir + "/missing/file", "x") }
        }
    }

    @Test func createDirectoryMakesParents() throws {
        try withTemporaryDirectory { dir in
            let deep = dir + "/a/b/c/d"
            try FileSystem.createDirectory(deep, mode: 0o750)
            #expect(FileSystem.isDirectory(deep))
            #expect(FileSystem.isDirectory(dir + "/a/b"))
            #expect(mode(deep) == 0o750)
            // Again is fine (mkdir -p), and so is a trailing slash.
            try FileSystem.createDirectory(deep)
            try FileSystem.createDirectory(dir + "/a/b/")
            // A file in the way is an error, as with mkdir -p.
            try FileSystem.writeFile(dir + "/file", "x")
            #expect(throws: BerthError.self) { try FileSystem.createDirectory(dir + "/file") }
            #expect(throws: BerthError.self) { try FileSystem.createDirectory(dir + "/file/sub") }
        }
    }

    @Test func removeTreeHandlesReadOnlyDirectoriesAndDoesNotFollowSymlinks() throws {
        try withTemporaryDirectory { dir in
            let outside = dir + "/outside"
            try FileSystem.createDirectory(outside)
            try FileSystem.writeFile(outside + "/precious", "keep me")

            let tree = dir + "/tree"
            try FileSystem.createDirectory(tree + "/ro/inner")
            try FileSystem.writeFile(tree + "/ro/inner/file", "x")
            try FileSystem.writeFile(tree + "/ro/file", "y")
            chmod(tree + "/ro/inner", 0o555)
            chmod(tree + "/ro", 0o555)
            #expect(symlink(outside, tree + "/link-to-dir") == 0)
            #expect(symlink(outside + "/precious", tree + "/ro-link") == 0)
            #expect(symlink("/nonexistent/dangling", tree + "/dangling") == 0)
            #expect(mkfifo(tree + "/fifo", 0o600) == 0)

            try FileSystem.removeTree(tree)
            #expect(!FileSystem.exists(tree))
            #expect(try FileSystem.readText(outside + "/precious") == "keep me")
            #expect(try FileSystem.list(outside) == ["precious"])
            // Removing what is not there is not an error; a symlink itself is removed, not its target.
            try FileSystem.removeTree(tree)
            #expect(symlink(outside, dir + "/top-link") == 0)
            try FileSystem.removeTree(dir + "/top-link")
            #expect(!FileSystem.exists(dir + "/top-link"))
            #expect(FileSystem.isDirectory(outside))
        }
    }

    /// Root ignores directory modes, so the 0555 case runs with a filesystem uid of 1000 (which drops
    /// CAP_DAC_OVERRIDE and CAP_FOWNER for that thread only): removeTree must make the directories writable.
    @Test func removeTreeOfReadOnlyDirectoriesWithoutDACOverride() async throws {
        try await withTemporaryDirectory { dir in
            chmod(dir, 0o755)
            let outside = dir + "/outside"
            try FileSystem.createDirectory(outside)
            try FileSystem.writeFile(outside + "/precious", "keep me")
            let owned = dir + "/owned"
            let tree = owned + "/tree"
            try FileSystem.createDirectory(tree + "/ro/inner")
            try FileSystem.writeFile(tree + "/ro/inner/file", "x")
            try FileSystem.writeFile(tree + "/ro/file", "y")
            #expect(symlink(outside, tree + "/ro/link") == 0)
            for path in [
                owned, tree, tree + "/ro", tree + "/ro/inner", tree + "/ro/inner/file", tree + "/ro/file",
                tree + "/ro/link",
            ] {
                #expect(lchown(path, 1000, 1000) == 0)
            }
            chmod(tree + "/ro/inner", 0o555)
            chmod(tree + "/ro", 0o555)

            let (probe, failure) = await onDedicatedThread { () -> (Int32, String?) in
                setFilesystemUID(1000)
                defer { setFilesystemUID(0) }
                // Without the chmod, the kernel refuses the unlink: the test exercises the 0555 path.
                let probe = unlink(tree + "/ro/file") == 0 ? 0 : errno
                do throws(BerthError) {
                    try FileSystem.removeTree(tree)
                    return (probe, nil)
                } catch {
                    return (probe, error.message)
                }
            }
            #expect(probe == EACCES)
            #expect(failure == nil)
            #expect(!FileSystem.exists(tree))
            #expect(try FileSystem.list(owned).isEmpty)
            #expect(try FileSystem.readText(outside + "/precious") == "keep me")
        }
    }

    @Test func listNamesEntriesWithoutDots() throws {
        try withTemporaryDirectory { dir in
            #expect(try FileSystem.list(dir).isEmpty)
            try FileSystem.writeFile(dir + "/a", "")
            try FileSystem.createDirectory(dir + "/b")
            #expect(symlink("a", dir + "/c") == 0)
            try FileSystem.writeFile(dir + "/.hidden", "")
            #expect(try FileSystem.list(dir).sorted() == [".hidden", "a", "b", "c"])
            do throws(BerthError) {
                _ = try FileSystem.list(dir + "/missing")
                Issue.record("listed a missing directory")
            } catch {
                #expect(error.code == .notFound)
            }
        }
    }

    @Test func diskUsageCountsRegularFilesOnceEach() throws {
        try withTemporaryDirectory { dir in
            try FileSystem.createDirectory(dir + "/d/e")
            try FileSystem.writeFile(dir + "/d/a", [UInt8](repeating: 1, count: 1000))
            try FileSystem.writeFile(dir + "/d/e/b", [UInt8](repeating: 2, count: 24))
            #expect(symlink("/etc/passwd", dir + "/d/link") == 0)  // symlinks are not followed or counted
            #expect(FileSystem.diskUsage(dir + "/d") == 1024)
            #expect(FileSystem.diskUsage(dir + "/d/a") == 1000)
            #expect(FileSystem.diskUsage(dir + "/missing") == 0)
            // A hard link is the same data: counted once.
            #expect(link(dir + "/d/a", dir + "/d/e/hard") == 0)
            #expect(FileSystem.diskUsage(dir + "/d") == 1024)
        }
    }

    @Test func pathHelpers() {
        #expect(FileSystem.parent(of: "/a/b/c") == "/a/b")
        #expect(FileSystem.parent(of: "/a") == "/")
        #expect(FileSystem.parent(of: "a") == ".")
        #expect(FileSystem.basename("/a/b/c.json") == "c.json")
        #expect(FileSystem.basename("plain") == "plain")
        #expect(String(nulTerminated: [104, 105, 0, 120]) == "hi")
    }
}
