import BerthCore
import Testing

@testable import BerthCLI

struct GoTemplateTests {
    static let inspectText =
        #"""
        {"Id":"abc123","State":{"Status":"running","Running":true,"Pid":4242,"ExitCode":0,"Health":null},
         "Config":{"Image":"busybox","Env":["PATH=/bin","A=1"],"Labels":{"b":"2","a":"1"},"Tty":false,"Cmd":["sh","-c","echo hi"]},
         "Mounts":[{"Source":"/s","Destination":"/d"},{"Source":"/t","Destination":"/e"}],
         "Ratio":0.5,"Name":"/web"}
        """#

    static func run(_ template: String, _ data: JSONValue? = nil) throws -> String {
        try GoTemplate(template).execute(data ?? JSONValue.parse(inspectText))
    }

    @Test func fieldPaths() throws {
        #expect(try Self.run("{{.State.Running}}") == "true")
        #expect(try Self.run("{{.State.Status}}") == "running")
        #expect(try Self.run("{{.Id}}") == "abc123")
        #expect(try Self.run("{{.Config.Image}}") == "busybox")
        #expect(try Self.run("{{.State.Pid}} {{.Ratio}}") == "4242 0.5")
        #expect(try Self.run("id={{ .Id }}!") == "id=abc123!")
        #expect(try Self.run("{{.State.Health}}") == "<nil>")
    }

    @Test func goValueFormatting() throws {
        #expect(try Self.run("{{.Config.Env}}") == "[PATH=/bin A=1]")
        #expect(try Self.run("{{.Config.Labels}}") == "map[a:1 b:2]")
    }

    @Test func jsonFunction() throws {
        #expect(try Self.run("{{json .Config.Cmd}}") == #"["sh","-c","echo hi"]"#)
        #expect(try Self.run("{{json .State.Running}}") == "true")
        #expect(try Self.run("{{.Config.Labels | json}}") == #"{"b":"2","a":"1"}"#)
        #expect(try Self.run("{{json .}}", .object([("a", .string("<&>"))])) == #"{"a":"<&>"}"#)
    }

    @Test func functions() throws {
        #expect(try Self.run(#"{{join .Config.Cmd " "}}"#) == "sh -c echo hi")
        #expect(try Self.run(#"{{index .Config.Labels "a"}}"#) == "1")
        #expect(try Self.run(#"{{index .Config.Cmd 1}}"#) == "-c")
        #expect(try Self.run("{{len .Mounts}}") == "2")
        #expect(
            try Self.run("{{upper .Config.Image}} {{lower \"ABC\"}} {{title \"hello world\"}}")
                == "BUSYBOX abc Hello World")
        #expect(try Self.run(#"{{split "a,b" ","}}"#) == "[a b]")
        #expect(try Self.run(#"{{truncate .Id 3}}"#) == "abc")
        #expect(try Self.run(#"{{printf "%-6s|%3d|%q" .Config.Image .State.Pid "x"}}"#) == #"busybox|4242|"x""#)
        #expect(try Self.run(#"{{printf "%-8s|" "ab"}}"#) == "ab      |")
        #expect(
            try Self.run(#"{{eq .State.Status "running"}} {{ne .State.Pid 1}} {{gt .State.Pid 10}}"#)
                == "true true true")
        #expect(try Self.run(#"{{(index .Mounts 1).Source}}"#) == "/t")
    }

    @Test func conditionalsAndLoops() throws {
        #expect(try Self.run("{{if .State.Running}}up{{else}}down{{end}}") == "up")
        #expect(try Self.run("{{if .Config.Tty}}tty{{else if .State.Running}}running{{else}}no{{end}}") == "running")
        #expect(try Self.run("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}") == "/s:/d /t:/e ")
        #expect(try Self.run("{{range $i, $m := .Mounts}}{{$i}}={{$m.Destination}};{{end}}") == "0=/d;1=/e;")
        #expect(try Self.run("{{range $k, $v := .Config.Labels}}{{$k}}{{$v}}{{end}}") == "a1b2")
        #expect(try Self.run("{{range .Nope}}x{{else}}empty{{end}}", .object([("Nope", .array([]))])) == "empty")
        #expect(try Self.run("{{with .Config}}{{.Image}}{{end}}") == "busybox")
        #expect(try Self.run("{{$img := .Config.Image}}{{$img}}-{{$.Id}}") == "busybox-abc123")
        #expect(try Self.run("{{if and .State.Running (not .Config.Tty)}}yes{{end}}") == "yes")
    }

    @Test func whitespaceTrimming() throws {
        #expect(try Self.run("a  {{- .Id -}}  b") == "aabc123b")
        #expect(try Self.run("{{/* a comment */}}x") == "x")
    }

    @Test func missingKeysAndBadTemplatesFail() {
        #expect(throws: GoTemplate.Error.self) { try Self.run("{{.Nope}}") }
        #expect(throws: GoTemplate.Error.self) { try Self.run("{{.State.Health.Status}}") }
        #expect(throws: GoTemplate.Error.self) { try Self.run("{{.Id") }
        #expect(throws: GoTemplate.Error.self) { try Self.run("{{if .Id}}x") }
        #expect(throws: GoTemplate.Error.self) { try Self.run("{{nosuchfunc .Id}}") }
        #expect(throws: GoTemplate.Error.self) { try Self.run("{{end}}") }
    }

    @Test func listFormats() throws {
        let rows: [JSONValue] = [
            .object([("ID", .string("abc")), ("Names", .string("web"))]),
            .object([("ID", .string("defghijklmnop")), ("Names", .string("db"))]),
        ]
        let header: JSONValue = .object([("ID", .string("CONTAINER ID")), ("Names", .string("NAMES"))])
        let table = try ListFormat(#"table {{.ID}}\t{{.Names}}"#, defaultTable: "")
        #expect(
            try table.render(rows: rows, header: header)
                == "CONTAINER ID    NAMES\nabc             web\ndefghijklmnop   db\n")
        let raw = try ListFormat("{{.Names}}", defaultTable: "")
        #expect(try raw.render(rows: rows, header: header) == "web\ndb\n")
        let json = try ListFormat("json", defaultTable: "")
        #expect(
            try json.render(rows: [.object([("b", .string("<none>")), ("a", .string("x"))])], header: header)
                == #"{"a":"x","b":"\u003cnone\u003e"}"# + "\n")
    }
}
