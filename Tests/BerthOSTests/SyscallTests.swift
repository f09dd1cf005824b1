import BerthCore
import Glibc
import Testing

@testable import BerthOS

struct SyscallTests {
    @Test func enoentIsNotFoundWithGoStyleMessage() {
        let error = Syscall.error("open /nope", errno: ENOENT)
        #expect(error.code == .notFound)
        #expect(error.message == "open /nope: no such file or directory")
        #expect(error.errno == ENOENT)
        #expect((error.cause as? SystemError) == SystemError(errno: ENOENT))
    }

    @Test func eexistIsConflictAndOthersKeepTheirErrno() {
        let exists = Syscall.error("mkdir /x", errno: EEXIST)
        #expect(exists.code == .conflict)
        #expect(exists.message == "mkdir /x: file exists")

        let io = Syscall.error("read x", errno: EIO)
        #expect(io.code == .system(EIO))
        #expect(io.code.errno == EIO)
        #expect(io.errno == EIO)
        #expect(io.message == "read x: input/output error")
        #expect(Syscall.describe(errno: EBADF) == "bad file descriptor")
    }

    @Test func callReturnsResultsAndThrowsTheErrno() throws {
        #expect(try Syscall.call("getpid") { getpid() } == getpid())
        do {
            try Syscall.call("close -1") { close(-1) }
            Issue.record("close(-1) succeeded")
        } catch {
            #expect(error.code == .system(EBADF))
            #expect(error.errno == EBADF)
            #expect(error.message == "close -1: bad file descriptor")
        }
        do {
            try Syscall.call("open /nonexistent/berth") { open("/nonexistent/berth", O_RDONLY) }
            Issue.record("open of a missing file succeeded")
        } catch {
            #expect(error.code == .notFound)
        }
    }

    /// A call interrupted by a signal is retried, not reported.
    @Test func callRetriesEINTR() throws {
        var attempts = 0
        let result = try Syscall.call("flaky") { () -> Int32 in
            attempts += 1
            if attempts < 3 {
                errno = EINTR
                return -1
            }
            return 7
        }
        #expect(result == 7)
        #expect(attempts == 3)
    }
}
