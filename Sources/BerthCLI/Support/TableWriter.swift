/// Column alignment as Go's `text/tabwriter` does it, which is what Docker's tables go through.
///
/// Cells are separated by `\t`; the text after a line's last tab is not part of any column. A column's width is
/// the widest cell (plus `padding`, at least `minWidth`) over a block of consecutive lines that have that
/// column, so a line without tabs starts new blocks. Docker uses (minWidth 10, padding 3) for `ps`/`images`
/// and (minWidth 20, padding 1) for `version`.
struct TableWriter {
    var minWidth: Int
    var padding: Int
    private var lines: [[String]] = []

    init(minWidth: Int = 10, padding: Int = 3) {
        self.minWidth = minWidth
        self.padding = padding
    }

    /// Adds text; each `\n` ends a line.
    mutating func write(_ text: String) {
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if text.hasSuffix("\n") { parts.removeLast() }
        for part in parts {
            lines.append(part.split(separator: "\t", omittingEmptySubsequences: false).map(String.init))
        }
    }

    /// The aligned text, one `\n` after each line.
    func render() -> String {
        var out = ""
        var widths: [Int] = []
        format(&out, &widths, 0, lines.count)
        return out
    }

    private static func width(_ s: String) -> Int { s.unicodeScalars.count }

    private func format(_ out: inout String, _ widths: inout [Int], _ start: Int, _ end: Int) {
        let column = widths.count
        var line0 = start
        var this = start
        while this < end {
            if column >= lines[this].count - 1 {
                this += 1
                continue
            }
            writeLines(&out, widths, line0, this)
            line0 = this
            var width = minWidth
            while this < end, column < lines[this].count - 1 {
                width = max(width, Self.width(lines[this][column]) + padding)
                this += 1
            }
            widths.append(width)
            format(&out, &widths, line0, this)
            widths.removeLast()
            line0 = this
        }
        writeLines(&out, widths, line0, end)
    }

    private func writeLines(_ out: inout String, _ widths: [Int], _ start: Int, _ end: Int) {
        guard start < end else { return }
        for i in start..<end {
            for (j, cell) in lines[i].enumerated() {
                out += cell
                if j < widths.count, j < lines[i].count - 1 {
                    out += String(repeating: " ", count: max(0, widths[j] - Self.width(cell)))
                }
            }
            out += "\n"
        }
    }
}
