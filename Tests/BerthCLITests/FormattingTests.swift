import BerthCore
import Glibc
import Testing

@testable import BerthCLI

struct FormattingTests {
    init() {
        setenv("TZ", "UTC", 1)
        tzset()
    }

    @Test func tableWriterPadsLikeGoTabwriter() {
        var w = TableWriter()
        w.write("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n")
        w.write(
            "e39813f38f54\tbusybox\t\"sh -c \\\"sleep 1; exi…\"\tAbout a minute ago\tExited (5) About a minute ago\t\tjolly_lovelace\n"
        )
        #expect(
            w.render() == """
                CONTAINER ID   IMAGE     COMMAND                   CREATED              STATUS                          PORTS     NAMES
                e39813f38f54   busybox   "sh -c \\"sleep 1; exi…"   About a minute ago   Exited (5) About a minute ago             jolly_lovelace

                """)
    }

    @Test func tableWriterBlocksEndAtLinesWithoutTabs() {
        var w = TableWriter(minWidth: 20, padding: 1)
        w.write("Client:\n Version:\t1\n API version:\t1.44\n\nServer: X\n  Version:\t2\n  A long label here!!:\tv\n")
        #expect(
            w.render() == """
                Client:
                 Version:           1
                 API version:       1.44

                Server: X
                  Version:             2
                  A long label here!!: v

                """)
    }

    @Test func humanDurations() {
        #expect(HumanUnits.duration(seconds: 0.4) == "Less than a second")
        #expect(HumanUnits.duration(seconds: 1) == "1 second")
        #expect(HumanUnits.duration(seconds: 5) == "5 seconds")
        #expect(HumanUnits.duration(seconds: 59) == "59 seconds")
        #expect(HumanUnits.duration(seconds: 60) == "About a minute")
        #expect(HumanUnits.duration(seconds: 119) == "About a minute")
        #expect(HumanUnits.duration(seconds: 23 * 60) == "23 minutes")
        #expect(HumanUnits.duration(seconds: 3600) == "About an hour")
        #expect(HumanUnits.duration(seconds: 5400) == "2 hours")
        #expect(HumanUnits.duration(seconds: 47 * 3600) == "47 hours")
        #expect(HumanUnits.duration(seconds: 3 * 86400) == "3 days")
        #expect(HumanUnits.duration(seconds: 15 * 86400) == "2 weeks")
        #expect(HumanUnits.duration(seconds: 90 * 86400) == "3 months")
        #expect(HumanUnits.duration(seconds: 800 * 86400) == "2 years")
    }

    @Test func humanSizes() {
        #expect(HumanUnits.size(0) == "0B")
        #expect(HumanUnits.size(512) == "512B")
        #expect(HumanUnits.size(1_982_342) == "1.98MB")
        #expect(HumanUnits.size(1_982_342, precision: 4) == "1.982MB")
        #expect(HumanUnits.size(4_100) == "4.1kB")
        #expect(HumanUnits.size(1_000_000) == "1MB")
        #expect(HumanUnits.size(999_500) == "1e+03kB")
        #expect(HumanUnits.size(123_456_789_012) == "123GB")
        #expect(HumanUnits.bytesSize(25_276_063_744) == "23.54GiB")
        #expect(HumanUnits.bytesSize(1024) == "1KiB")
    }

    @Test func commandsAreQuotedAndCut() {
        #expect(TextFormat.quote(TextFormat.ellipsis("echo hello", 20)) == #""echo hello""#)
        #expect(TextFormat.quote(TextFormat.ellipsis(#"sh -c "sleep 1; exit 5""#, 20)) == #""sh -c \"sleep 1; exi…""#)
        #expect(TextFormat.ellipsis("abc", 1) == "a")
        #expect(TextFormat.shortID("sha256:b348ab2359b99131f81c765bd9414348") == "b348ab2359b9")
        #expect(TextFormat.shortID("e39813f38f54aefd2f4f17c1ee504b2c") == "e39813f38f54")
    }

    @Test func jsonIndentsLikeGo() {
        let raw = Array(#"[{"Id":"x","Args":[],"Env":["A=1","B= {a:b}"],"State":{"Pid":1,"Ok":true},"Empty":{}}]"#.utf8)
        #expect(
            JSONText.indent(raw) == """
                [
                    {
                        "Id": "x",
                        "Args": [],
                        "Env": [
                            "A=1",
                            "B= {a:b}"
                        ],
                        "State": {
                            "Pid": 1,
                            "Ok": true
                        },
                        "Empty": {}
                    }
                ]
                """)
        #expect(JSONText.indent(Array("[]".utf8)) == "[]")
        #expect(
            String(decoding: JSONText.compact(Array("{ \"a b\" : [ 1 , 2 ] }\n".utf8)), as: UTF8.self)
                == #"{"a b":[1,2]}"#)
    }

    @Test func psRows() throws {
        let c = try JSONValue.parse(
            #"""
            {"Id":"e39813f38f54aefd2f4f17c1ee504b2c2bcb4a1350395ca1bab855853b8f2726","Names":["/jolly_lovelace"],
             "Image":"busybox","ImageID":"sha256:b3","Command":"sh -c \"sleep 1; exit 5\"","Created":1795963442,
             "Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"PrivatePort":443,"Type":"tcp"}],
             "Labels":{"z":"1","a":"2"},"State":"exited","Status":"Exited (5) About a minute ago",
             "HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{"none":{}}},"Mounts":[]}
            """#)
        let row = Berth.Ps.row(c, truncate: true, now: 1_795_963_442 + 90)
        #expect(row["ID"] == .string("e39813f38f54"))
        #expect(row["Command"] == .string(#""sh -c \"sleep 1; exi…""#))
        #expect(row["RunningFor"] == .string("About a minute ago"))
        #expect(row["Names"] == .string("jolly_lovelace"))
        #expect(row["Ports"] == .string("0.0.0.0:8080->80/tcp, 443/tcp"))
        #expect(row["Labels"] == .string("a=2,z=1"))
        #expect(row["Networks"] == .string("none"))
        #expect(row["CreatedAt"] == .string("2026-11-29 14:44:02 +0000 UTC"))
        let full = Berth.Ps.row(c, truncate: false, now: 1_795_963_442)
        #expect(full["ID"]?.stringValue?.count == 64)
        #expect(full["Command"] == .string(#""sh -c \"sleep 1; exit 5\"""#))
    }

    @Test func imageRows() throws {
        let image = try JSONValue.parse(
            #"""
            {"Id":"sha256:b348ab2359b99131f81c765bd9414348bc8cadb782abdb7a9415993325e28e75","ParentId":"",
             "RepoTags":["busybox:latest","localhost:5000/bb:v1"],"RepoDigests":[],"Created":1795962839,
             "Size":1982342,"SharedSize":-1,"Labels":{},"Containers":-1}
            """#)
        let rows = Berth.Images.rows(image, truncate: true, now: 1_795_962_839 + 23 * 60)
        #expect(rows.count == 2)
        #expect(rows[0]["Repository"] == .string("busybox"))
        #expect(rows[0]["Tag"] == .string("latest"))
        #expect(rows[1]["Repository"] == .string("localhost:5000/bb"))
        #expect(rows[1]["Tag"] == .string("v1"))
        #expect(rows[0]["ID"] == .string("b348ab2359b9"))
        #expect(rows[0]["Size"] == .string("1.98MB"))
        #expect(rows[0]["VirtualSize"] == .string("1.982MB"))
        #expect(rows[0]["CreatedSince"] == .string("23 minutes ago"))
        #expect(rows[0]["Containers"] == .string("N/A"))
        let untagged = try JSONValue.parse(
            #"{"Id":"sha256:ab","RepoTags":null,"RepoDigests":null,"Created":0,"Size":0}"#)
        let none = Berth.Images.rows(untagged, truncate: true, now: 0)
        #expect(none.count == 1)
        #expect(none[0]["Repository"] == .string("<none>"))
        #expect(none[0]["Tag"] == .string("<none>"))
        let table = try ListFormat(nil, defaultTable: Berth.Images.defaultFormat).render(
            rows: rows, header: Berth.Images.header)
        #expect(
            table == """
                REPOSITORY          TAG       IMAGE ID       CREATED          SIZE
                busybox             latest    b348ab2359b9   23 minutes ago   1.98MB
                localhost:5000/bb   v1        b348ab2359b9   23 minutes ago   1.98MB

                """)
    }

    @Test func eventLines() throws {
        let e = try JSONValue.parse(
            #"{"status":"start","id":"fae5","Type":"container","Action":"start","Actor":{"ID":"fae5","Attributes":{"name":"relaxed_hopper","image":"busybox"}},"scope":"local","time":1795963516,"timeNano":1795963516793442816}"#
        )
        #expect(
            Berth.Events.line(e, timeNano: 1_795_963_516_793_442_816)
                == "2026-11-29T14:45:16.793442816Z container start fae5 (image=busybox, name=relaxed_hopper)")
        let exact = JSONLines.integer("timeNano", in: Array(e.serialized.utf8))
        #expect(exact == nil || exact! / 1000 == 1_795_963_516_793_442)
        #expect(
            JSONLines.integer("timeNano", in: Array(#"{"timeNano": 1795963516793442816}"#.utf8))
                == 1_795_963_516_793_442_816)
        let noAttributes = try JSONValue.parse(
            #"{"Type":"image","Action":"import","Actor":{"ID":"sha256:x"},"time":1795963516}"#)
        #expect(Berth.Events.line(noAttributes) == "2026-11-29T14:45:16.000000000Z image import sha256:x")
    }

    @Test func jsonLinesAcrossChunks() {
        var lines = JSONLines()
        #expect(lines.feed(Array(#"{"status":"sha"#.utf8)).isEmpty)
        let values = lines.feed(Array("256:ab\"}\n{\"error\":\"boom\"}\n".utf8))
        #expect(values.count == 2)
        #expect(values[0]["status"] == .string("sha256:ab"))
        #expect(values[1]["error"] == .string("boom"))
        #expect(lines.feed(Array(#"{"a":1}"#.utf8)).isEmpty)
        #expect(lines.finish().count == 1)
    }

    @Test func waitBodies() throws {
        #expect(try AttachedStart.exitCode(fromWaitBody: Array(#"{"StatusCode":3,"Error":null}"#.utf8) + [10]) == 3)
        #expect(throws: CLIError.self) { try AttachedStart.exitCode(fromWaitBody: []) }
        #expect(throws: CLIError.self) {
            try AttachedStart.exitCode(fromWaitBody: Array(#"{"StatusCode":0,"Error":{"Message":"x"}}"#.utf8))
        }
    }

    @Test func versionLayout() throws {
        let server = try JSONValue.parse(
            #"{"Platform":{"Name":"Berth Engine"},"Components":[{"Name":"Engine","Version":"0.1.0","Details":{"ApiVersion":"1.44","MinAPIVersion":"1.24","GitCommit":"berth","GoVersion":"swift6","Os":"linux","Arch":"amd64","KernelVersion":"6.18","BuildTime":"","Experimental":"false"}}]}"#
        )
        let text = Berth.Version.render(client: Berth.Version.client, server: server)
        #expect(text.hasPrefix("Client:\n Version:           0.1.0\n API version:       1.44\n"))
        #expect(
            text.contains(
                "\nServer: Berth Engine\n Engine:\n  Version:          0.1.0\n  API version:      1.44 (minimum version 1.24)\n"
            ))
        #expect(text.hasSuffix("  Experimental:     false\n"))
    }
}
