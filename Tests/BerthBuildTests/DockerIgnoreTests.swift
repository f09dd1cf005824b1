import BerthBuild
import BerthCore
import BerthDockerIgnore
import Testing

/// `.dockerignore` matching, against the reference's examples and moby/patternmatcher's rules.
struct DockerIgnoreTests {
    private func ignore(_ patterns: String...) throws -> DockerIgnore { try DockerIgnore(patterns: patterns) }

    @Test func referenceExampleFile() throws {
        let ignore = try DockerIgnore.parse(try Fixtures.read("sample.dockerignore"))
        #expect(ignore.patterns.count == 9)
        #expect(ignore.patterns.map(\.text).contains("build"))
        #expect(ignore.hasExceptions)
        // */temp*: in any immediate subdirectory of the root.
        #expect(ignore.matches("somedir/temporary.txt"))
        #expect(ignore.matches("somedir/temp"))
        #expect(ignore.matches("somedir/temp/inside.txt"))
        #expect(!ignore.matches("temporary.txt"))
        // */*/temp*: two levels below the root.
        #expect(ignore.matches("somedir/subdir/temporary.txt"))
        #expect(!ignore.matches("a/b/c/temporary.txt"))
        // temp?: one character after temp, at the root.
        #expect(ignore.matches("tempa"))
        #expect(ignore.matches("tempb"))
        #expect(!ignore.matches("tempab"))
        #expect(!ignore.matches("temp"))
        // **/*.go in any directory, the root included.
        #expect(ignore.matches("main.go"))
        #expect(ignore.matches("cmd/tool/main.go"))
        #expect(!ignore.matches("main.go.txt"))
        // *.md excluded, README*.md re-included, README-secret.md excluded again.
        #expect(ignore.matches("CHANGES.md"))
        #expect(!ignore.matches("README.md"))
        #expect(!ignore.matches("README-public.md"))
        #expect(ignore.matches("README-secret.md"))
        #expect(!ignore.matches("docs/guide.md"))
        // /build/ excludes the directory and what is below, but build/keep.txt comes back.
        #expect(ignore.matches("build"))
        #expect(ignore.matches("build/out/app"))
        #expect(!ignore.matches("build/keep.txt"))
        #expect(!ignore.matches("Dockerfile"))
    }

    @Test func lastMatchingPatternWins() throws {
        let readme = try ignore("*.md", "!README.md")
        #expect(readme.matches("CHANGES.md"))
        #expect(!readme.matches("README.md"))
        let reExcluded = try ignore("*.md", "!README.md", "README.md")
        #expect(reExcluded.matches("README.md"))
        let everything = try ignore("*", "!src", "src/*.tmp")
        #expect(everything.matches("Makefile"))
        #expect(!everything.matches("src"))
        #expect(!everything.matches("src/main.c"))
        #expect(everything.matches("src/x.tmp"))
    }

    @Test func doubleStarMatchesAnyNumberOfDirectories() throws {
        let middle = try ignore("a/**/z")
        #expect(middle.matches("a/z"))
        #expect(middle.matches("a/b/z"))
        #expect(middle.matches("a/b/c/z"))
        #expect(!middle.matches("b/a/z"))
        let trailing = try ignore("logs/**")
        #expect(trailing.matches("logs/a"))
        #expect(trailing.matches("logs/a/b.txt"))
        #expect(!trailing.matches("logs"))
        let leading = try ignore("**/node_modules")
        #expect(leading.matches("node_modules"))
        #expect(leading.matches("web/app/node_modules/x/index.js"))
        #expect(!leading.matches("web/my_node_modules"))
        #expect(try ignore("**").matches("anything/at/all"))
    }

    @Test func wildcardsAndClasses() throws {
        let star = try ignore("*.txt")
        #expect(star.matches("a.txt"))
        #expect(!star.matches("dir/a.txt"))
        let classes = try ignore("file[0-9].log", "data[^a-c].bin", "x[\\]]y", "literal\\*")
        #expect(classes.matches("file7.log"))
        #expect(!classes.matches("filex.log"))
        #expect(classes.matches("datad.bin"))
        #expect(!classes.matches("dataa.bin"))
        #expect(classes.matches("x]y"))
        #expect(classes.matches("literal*"))
        #expect(!classes.matches("literalx"))
        #expect(try ignore("a.b+c(d)").matches("a.b+c(d)"))
        #expect(!(try ignore("a.b").matches("axb")))
    }

    @Test func patternsAndPathsAreCleaned() throws {
        let ignore = try DockerIgnore.parse("  # not a comment, a pattern \n/foo/\n./bar/../baz\n! /qux\n\n#comment\n")
        #expect(ignore.patterns.map(\.text) == ["# not a comment, a pattern", "foo", "baz", "qux"])
        #expect(ignore.patterns.map(\.isException) == [false, false, false, true])
        #expect(ignore.matches("foo"))
        #expect(ignore.matches("./foo/x"))
        #expect(ignore.matches("/baz"))
        #expect(!ignore.matches("bar"))
        #expect(!ignore.matches("."))
        #expect(!ignore.matches(""))
        let crlf = try DockerIgnore.parse("\u{FEFF}a\r\n!b\r\n")
        #expect(crlf.patterns.map(\.text) == ["a", "b"])
    }

    @Test func mayReincludeTellsTheWalkerWhenToDescend() throws {
        let keep = try ignore("build", "node_modules", "!build/keep.txt")
        #expect(keep.matches("build"))
        #expect(keep.mayReinclude(below: "build"))
        #expect(!keep.mayReinclude(below: "node_modules"))
        #expect(!keep.mayReinclude(below: "build/sub"))
        let anywhere = try ignore("vendor", "!**/LICENSE")
        #expect(anywhere.mayReinclude(below: "vendor"))
        #expect(!anywhere.matches("vendor/lib/LICENSE"))
        #expect(anywhere.matches("vendor/lib/code.go"))
        let starred = try ignore("*", "!src/*/main.go")
        #expect(starred.mayReinclude(below: "src"))
        #expect(starred.mayReinclude(below: "src/app"))
        #expect(!starred.mayReinclude(below: "docs"))
        #expect(!starred.matches("src/app/main.go"))
        let parent = try ignore("dir/*", "!dir")
        #expect(parent.mayReinclude(below: "dir/sub"))
        #expect(!(try ignore("a")).mayReinclude(below: "a"))
    }

    @Test func malformedPatternsAreErrors() {
        for (pattern, message) in [
            ("!", #"illegal exclusion pattern: "!""#), ("[a", #"syntax error in pattern "[a""#),
            ("a[]b", #"syntax error in pattern "a[]b""#), ("x[z-a]", #"syntax error in pattern "x[z-a]""#),
            ("[a-]", #"syntax error in pattern "[a-]""#), ("end\\", #"syntax error in pattern "end\\""#),
        ] {
            #expect(throws: BerthError.self, "for \(pattern)") { try DockerIgnore(patterns: [pattern]) }
            do {
                _ = try DockerIgnore.parse(pattern + "\n")
            } catch {
                #expect(error.message == message)
                #expect(error.code == .invalidArgument)
            }
        }
    }
}
