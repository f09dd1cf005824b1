import BerthOS
import CBerthLinux
import Glibc

extension Shim {
    /// Gives back the memory that only the set-up needed, once the container runs: the shim then lives as long
    /// as the container, and per-container overhead is what Berth is measured on.
    ///
    /// - Code pages (`r-xp` mappings: the shim's own text, libc, libstdc++, …) are dropped from this process
    ///   with `MADV_DONTNEED`. They stay in the page cache; the few the supervise loop runs fault back in
    ///   cheaply. Only executable mappings are touched: they are never written, so nothing is lost, whereas a
    ///   read-only data mapping may hold relocated (RELRO) pages that must not be discarded.
    /// - The heap freed by the set-up (spec, seccomp compilation) goes back to the kernel with `malloc_trim`.
    func releaseSetupMemory() {
        _ = berth_malloc_trim()
        guard let maps = try? FileSystem.readText("/proc/self/maps") else { return }
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "r-xp", fields[5].hasPrefix("/") else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            _ = madvise(address, Int(end - start), MADV_DONTNEED)
        }
    }
}
