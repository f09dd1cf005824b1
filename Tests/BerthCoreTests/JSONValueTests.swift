import Testing

@testable import BerthCore

struct JSONValueTests {
    /// Parses `text`, expecting `.invalidArgument` whose message names `offset`.
    private func expectParseError(_ text: String, offset: Int, _ what: String) {
        do {
            let value = try JSONValue.parse(text)
            Issue.record("expected \(text) to be rejected, got \(value.serialized)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == "invalid JSON at offset \(offset): \(what)", "for input \(text)")
        }
    }

    @Test func scalarsRoundTrip() throws {
        #expect(try JSONValue.parse("null") == .null)
        #expect(try JSONValue.parse("true") == .bool(true))
        #expect(try JSONValue.parse(" false ") == .bool(false))
        #expect(try JSONValue.parse("\"hi\"") == .string("hi"))
        for text in ["null", "true", "false", "\"\"", "[]", "{}", "0", "-12", "3.25"] {
            #expect(try JSONValue.parse(text).serialized == text)
        }
    }

    @Test func nestedDocumentKeepsMemberOrder() throws {
        let text = #"{"z":[1,{"b":null,"a":[true,false]}],"a":{},"m":[[],[[]]],"s":"x"}"#
        let value = try JSONValue.parse(text)
        #expect(value.serialized == text)
        #expect(value.objectMembers.map(\.0) == ["z", "a", "m", "s"])
        #expect(value["z"]?.arrayValue?[1]["a"] == .array([.bool(true), .bool(false)]))
        #expect(value["z"]?.arrayValue?[1]["b"]?.isNull == true)
        #expect(value["a"] == .object([]))
        #expect(value["missing"] == nil)

        let spaced = "\n{ \"k\" :\t[ 1 ,\r\n 2 ] }\n"
        #expect(try JSONValue.parse(spaced).serialized == #"{"k":[1,2]}"#)
    }

    @Test func stringEscapesRoundTrip() throws {
        let parsed = try JSONValue.parse(#""q\"b\\s\/n\nr\rt\tb\bf\f""#)
        #expect(parsed == .string("q\"b\\s/n\nr\rt\tb\u{08}f\u{0C}"))
        // `/` needs no escape; the others come back in their short forms.
        #expect(parsed.serialized == #""q\"b\\s/n\nr\rt\tb\bf\f""#)

        let control = JSONValue.string("a\u{01}b\u{1F}c\u{7F}")
        #expect(control.serialized == "\"a\\u0001b\\u001fc\u{7F}\"")
        #expect(try JSONValue.parse(control.serialized) == control)

        let raw = JSONValue.string("日本語 é <&>")
        #expect(raw.serialized == "\"日本語 é <&>\"")
        #expect(try JSONValue.parse(raw.serialized) == raw)
    }

    @Test func unicodeEscapesAndSurrogatePairs() throws {
        #expect(try JSONValue.parse(#""\u0041\u00e9\u20AC""#) == .string("Aé€"))
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONValue.parse(#""x\uD834\uDD1Ey""#) == .string("x𝄞y"))
        // Astral characters are written raw and read back as themselves.
        #expect(JSONValue.string("😀").serialized == "\"😀\"")
        // A lone surrogate becomes U+FFFD, and an escape after it is kept.
        #expect(try JSONValue.parse(#""\ud83d""#) == .string("\u{FFFD}"))
        #expect(try JSONValue.parse(#""\ude00x""#) == .string("\u{FFFD}x"))
        #expect(try JSONValue.parse(#""\ud83d\u0041""#) == .string("\u{FFFD}A"))
    }

    private func double(_ value: JSONValue?) -> Double? {
        if let n = value?.doubleValue { return n }
        return nil
    }

    @Test func numbers() throws {
        #expect(try JSONValue.parse("0").int64Value == 0)
        #expect(try JSONValue.parse("-12").intValue == -12)
        #expect(double(try JSONValue.parse("3.25")) == 3.25)
        #expect(try JSONValue.parse("1e3").serialized == "1000")
        #expect(double(try JSONValue.parse("2.5E-1")) == 0.25)
        #expect(try JSONValue.parse("3.25").intValue == nil)
        #expect(JSONValue.number(3).serialized == "3")
        #expect(JSONValue.number(-0.5).serialized == "-0.5")
        #expect(JSONValue.number(1e300).serialized == "1e+300")
        #expect(try JSONValue.parse("[1,2.5,-3]").arrayValue?.compactMap(double) == [1, 2.5, -3])
        #expect(JSONValue.string("1").intValue == nil)
        #expect(JSONValue.int(UInt64(1) << 40).uint64Value == 1 << 40)
        #expect(JSONValue.int(-1).uint64Value == nil)
        #expect(JSONValue.int(7) == .number(7))
    }

    @Test func largeIntegersAreWrittenAsIntegers() throws {
        // A nanosecond timestamp is written in integer form, never with an exponent.
        let nanos: Int64 = 1_795_962_357_009_667_800
        let text = JSONValue.int(nanos).serialized
        #expect(!text.contains("e") && !text.contains("."))
        #expect(text.count == 19)
        #expect(try JSONValue.parse(text).serialized == text)
        #expect(try JSONValue.parse("1795962357009667800").int64Value.map { abs($0 - nanos) <= 256 } == true)
        // Integers up to 2^53 are exact.
        #expect(try JSONValue.parse("9007199254740992").serialized == "9007199254740992")
        #expect(JSONValue.int(Int64(1) << 53).int64Value == 1 << 53)
        #expect(try JSONValue.parse("-4503599627370497").serialized == "-4503599627370497")
        // Past Int64 the value stays a number with an exponent.
        #expect(double(try JSONValue.parse("18446744073709551616")) == 18_446_744_073_709_551_616)

        // Integers are kept exactly, past 2^53 too (Docker's timeNano).
        #expect(JSONValue.int(nanos).serialized == "1795962357009667800")
        #expect(try JSONValue.parse("1795962357009667800").int64Value == nanos)
    }

    @Test func malformedInputNamesTheOffset() {
        expectParseError("", offset: 0, "unexpected end")
        expectParseError("tru", offset: 0, "unexpected character")
        expectParseError(#"{"a":}"#, offset: 5, "unexpected character")
        expectParseError("[1,2", offset: 4, "unexpected end")
        expectParseError(#"{"a" 1}"#, offset: 5, "expected ':'")
        expectParseError("{1:2}", offset: 1, "expected a key")
        expectParseError("[1 2]", offset: 3, "expected ',' or ']'")
        expectParseError(#"{"a":1 "b":2}"#, offset: 7, "expected ',' or '}'")
        expectParseError("[1] x", offset: 4, "trailing characters")
        expectParseError(#""abc"#, offset: 4, "unterminated string")
        expectParseError(#""\x""#, offset: 3, "bad escape")
        expectParseError(#""\u12G4""#, offset: 6, "bad \\u escape")
        expectParseError("-", offset: 0, "unexpected character")
    }

    @Test func nestingIsLimited() throws {
        let shallow = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try JSONValue.parse(shallow).serialized == shallow)
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: BerthError.self) { try JSONValue.parse(deep) }
        do {
            _ = try JSONValue.parse(String(repeating: #"{"a":"#, count: 600))
            Issue.record("deep object accepted")
        } catch {
            #expect(error.message.contains("nesting too deep"))
        }
    }

    @Test func subscriptSetsReplacesAndRemoves() {
        var value: JSONValue = .object([("a", .int(1)), ("b", .int(2))])
        value["c"] = .string("x")
        value["a"] = .bool(true)
        #expect(value.serialized == #"{"a":true,"b":2,"c":"x"}"#)
        value["b"] = nil
        #expect(value.serialized == #"{"a":true,"c":"x"}"#)
        value["absent"] = nil
        #expect(value.objectMembers.count == 2)

        // A non-object becomes one when a member is set; reading a member of a non-object is nil.
        var scalar: JSONValue = .string("s")
        #expect(scalar["k"] == nil)
        scalar["k"] = .null
        #expect(scalar.serialized == #"{"k":null}"#)

        var nested: JSONValue = .object([])
        nested["Config"] = .object([])
        nested["Config"]?["Env"] = .strings(["A=1"])
        #expect(nested.serialized == #"{"Config":{"Env":["A=1"]}}"#)
    }

    @Test func helpers() throws {
        let map = JSONValue.map(["b": "2", "a": "1"])
        #expect(map.serialized == #"{"a":"1","b":"2"}"#)
        let labels = try JSONValue.parse(#"{"x":"1","n":2,"y":"z"}"#)
        #expect(labels.stringMap == ["x": "1", "y": "z"])
        #expect(JSONValue.strings(["a", "b"]).stringArray == ["a", "b"])
        #expect(try JSONValue.parse(#"["a",1,"b"]"#).stringArray == ["a", "b"])
        #expect(JSONValue.bool(true).boolValue == true)
        #expect(JSONValue.null.boolValue == nil)
        #expect(try JSONValue.parse(bytes: Array(#"{"k":"v"}"#.utf8))["k"]?.stringValue == "v")
        // Equality of objects is by member order, as the serialized text is.
        #expect(try JSONValue.parse(#"{"a":1,"b":2}"#) != JSONValue.parse(#"{"b":2,"a":1}"#))
    }
}
