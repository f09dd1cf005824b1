import BerthCore
import BerthDockerIgnore

/// Splitting an instruction line into its keyword, flags and argument words.
extension InstructionParser {
    /// An instruction line split into the keyword as written, the raw flag words and the rest (trimmed).
    struct Split {
        var keyword: String
        var flags: [String]
        var arguments: String
    }

    /// Splits `line` at the first run of `[\t\v\f\r ]`, then takes the leading `--flag` words off the rest
    /// (buildkit's `splitCommand` and `extractBuilderFlags`; quotes in a flag are removed and `\` escapes the next
    /// character; a lone `--` ends the flags).
    static func split(_ line: String) -> Split {
        let parts = TextScan.splitLineSpace(TextScan.trimSpace(line.scalars), limit: 2)
        let keyword = String(scalars: parts[0])
        guard parts.count == 2 else { return Split(keyword: keyword, flags: [], arguments: "") }
        let (rest, flags) = extractFlags(parts[1])
        return Split(keyword: keyword, flags: flags, arguments: String(scalars: TextScan.trimSpace(rest)))
    }

    private static func extractFlags(_ line: Scalars) -> (Scalars, [String]) {
        enum Phase { case spaces, word, quote }
        var words: [String] = []
        var phase = Phase.spaces
        var word: Scalars = []
        var quote: Unicode.Scalar = "\""
        var blankOK = false
        var pos = 0
        while pos <= line.count {
            let atEnd = pos == line.count
            var ch: Unicode.Scalar = atEnd ? " " : line[pos]
            if phase == .spaces {
                if atEnd { break }
                if ch.isSpace {
                    pos += 1
                    continue
                }
                guard ch == "-", pos + 1 < line.count, line[pos + 1] == "-" else { return (Array(line[pos...]), words) }
                phase = .word
            }
            if atEnd {
                if String(scalars: word) != "--", blankOK || !word.isEmpty { words.append(String(scalars: word)) }
                break
            }
            if phase == .word {
                if ch.isSpace {
                    phase = .spaces
                    if String(scalars: word) == "--" { return (Array(line[pos...]), words) }
                    if blankOK || !word.isEmpty { words.append(String(scalars: word)) }
                    word = []
                    blankOK = false
                } else if ch == "'" || ch == "\"" {
                    quote = ch
                    blankOK = true
                    phase = .quote
                } else if ch == "\\" {
                    if pos + 1 < line.count {  // a backslash at the very end is dropped
                        pos += 1
                        word.append(line[pos])
                    }
                } else {
                    word.append(ch)
                }
                pos += 1
                continue
            }
            if ch == quote {
                phase = .word
            } else if ch == "\\", pos + 1 == line.count {
                phase = .word
            } else {
                if ch == "\\" {
                    pos += 1
                    ch = line[pos]
                }
                word.append(ch)
            }
            pos += 1
        }
        return ([], words)
    }

    /// Splits arguments into words at white space outside quotes, keeping quotes and escapes in the words
    /// (buildkit's `parseWords`, used for ENV, LABEL and ARG, and here also for COPY, ADD, EXPOSE and VOLUME so
    /// that a quoted path with spaces stays one word).
    func words(_ text: String) -> [String] {
        enum Phase { case spaces, word, quote }
        let s = text.scalars
        var words: [String] = []
        var phase = Phase.spaces
        var word: Scalars = []
        var quote: Unicode.Scalar = "\""
        var blankOK = false
        var pos = 0
        while pos <= s.count {
            if phase == .spaces {
                if pos == s.count { break }
                if s[pos].isSpace {
                    pos += 1
                    continue
                }
                phase = .word
            }
            if pos == s.count {
                if blankOK || !word.isEmpty { words.append(String(scalars: word)) }
                break
            }
            let ch = s[pos]
            pos += 1
            if phase == .word {
                if ch.isSpace {
                    phase = .spaces
                    if blankOK || !word.isEmpty { words.append(String(scalars: word)) }
                    word = []
                    blankOK = false
                    continue
                }
                if ch == "'" || ch == "\"" {
                    quote = ch
                    blankOK = true
                    phase = .quote
                }
                if ch == escape {
                    if pos == s.count { continue }  // an escape at the very end is dropped
                    word.append(ch)
                    word.append(s[pos])
                    pos += 1
                    continue
                }
                word.append(ch)
                continue
            }
            if ch == quote { phase = .word }
            if ch == escape, quote != "'" {
                if pos == s.count {
                    phase = .word
                    continue
                }
                word.append(ch)
                word.append(s[pos])
                pos += 1
                continue
            }
            word.append(ch)
        }
        return words
    }

    /// The strings of a JSON array (`["a", "b"]`), or nil when `text` is not valid JSON or not an array.
    /// - Throws: when it is a JSON array with anything but strings in it, as Docker does.
    static func jsonArray(_ text: String) throws(BerthError) -> [String]? {
        let trimmed = String(scalars: TextScan.trimLeadingSpace(text.scalars))
        guard trimmed.unicodeScalars.first == "[", let value = try? JSONValue.parse(trimmed),
            let items = value.arrayValue
        else { return nil }
        var strings: [String] = []
        for item in items {
            guard let string = item.stringValue else {
                throw .invalidArgument("when using JSON array syntax, arrays must be comprised of strings only")
            }
            strings.append(string)
        }
        return strings
    }
}
