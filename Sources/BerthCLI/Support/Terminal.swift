import Glibc

/// The local terminal for `-t`: raw mode while attached (keys go to the container's terminal as typed, which
/// echoes and edits them), and its window size for the container's.
struct Terminal {
    private let fd: Int32
    private let saved: termios

    /// Puts `fd` into raw mode; nil when it is not a terminal. `restore()` undoes it.
    static func makeRaw(_ fd: Int32) -> Terminal? {
        guard isatty(fd) == 1 else { return nil }
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { return nil }
        let saved = t
        // The container's terminal already translates its output ("\n" to "\r\n"): no processing here either.
        cfmakeraw(&t)
        guard tcsetattr(fd, TCSANOW, &t) == 0 else { return nil }
        return Terminal(fd: fd, saved: saved)
    }

    func restore() {
        var t = saved
        _ = tcsetattr(fd, TCSANOW, &t)
    }

    /// Rows and columns of the terminal on `fd`, nil when it is none or has no size.
    static func size(_ fd: Int32) -> (rows: Int, cols: Int)? {
        var ws = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_row > 0, ws.ws_col > 0 else { return nil }
        return (Int(ws.ws_row), Int(ws.ws_col))
    }
}
