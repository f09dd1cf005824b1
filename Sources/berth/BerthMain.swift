import BerthCLI

/// The `berth` executable: everything lives in `BerthCLI`.
@main
struct BerthMain {
    static func main() { Berth.main() }
}
