import BerthOS
import CBerthLinux
import Glibc

extension Shim {
    /// Gives back the memory that only the set-up needed, once the container runs: the shim then lives as long
    /// as the container, and per-container overhead is what Berth is measured on.
    ///
    /// - Code pages (`r-xp` mappings: the shim's own text, libc, libstdc++, …) are dropped from this process
    ///   with `MADV_DONTNEED`. They stay in the page cache; the few the supervise loop runs fault back in
    ///   cheaply, one page at a time. Only executable mappings are touched: they are never written, so nothing is lost, whereas a
    ///   read-only data mapping may hold relocated (RELRO) pages that must not be discarded.
    /// - The heap freed by the set-up (spec, seccomp compilation) goes back to the kernel with `malloc_trim`.
    func releaseSetupMemory() {
        ShimTrace.mark("rss before release: \(Self.residentKB()) kB")
        defer { ShimTrace.mark("rss after release: \(Self.residentKB()) kB") }
        _ = berth_malloc_trim()
        guard let maps = try? FileSystem.readText("/proc/self/maps") else { return }
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "r-xp", fields[5].hasPrefix("/") else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            // MADV_RANDOM first: without it a fault maps a whole neighbourhood (fault-around, large folios) and
            // the loop's few code pages would bring megabytes back.
            _ = madvise(address, Int(end - start), MADV_RANDOM)
            if madvise(address, Int(end - start), MADV_DONTNEED) != 0 {
                ShimTrace.mark("madvise \(fields[5]): \(Syscall.describe(errno: errno))")
            }
        }
    }

    /// VmRSS of this process in kB (for the trace).
    static func residentKB() -> Int {
        guard ShimTrace.enabled, let text = try? FileSystem.readText("/proc/self/status") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst(6).trimmingSpaces.split(separator: " ").first ?? "") ?? 0
        }
        return 0
    }
}
