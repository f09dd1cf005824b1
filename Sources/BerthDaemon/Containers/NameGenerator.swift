/// Docker-style random container names: `adjective_surname`.
enum NameGenerator {
    static let adjectives = [
        "admiring", "amazing", "bold", "brave", "busy", "calm", "clever", "cool", "dazzling", "eager", "ecstatic",
        "elegant", "epic", "festive", "focused", "friendly", "gallant", "gifted", "happy", "hopeful", "jolly", "keen",
        "kind", "laughing", "lucid", "modest", "nifty", "nostalgic", "peaceful", "quirky", "relaxed", "serene",
        "sharp", "stoic", "sweet", "tender", "trusting", "upbeat", "vibrant", "wizardly", "youthful", "zealous",
    ]
    static let names = [
        "albattani", "babbage", "bardeen", "bell", "bohr", "cori", "curie", "darwin", "dijkstra", "einstein",
        "euler", "faraday", "fermi", "feynman", "galileo", "goldberg", "hamilton", "hopper", "hypatia", "johnson",
        "kepler", "knuth", "lamarr", "lovelace", "mayer", "meitner", "newton", "noether", "pascal", "ritchie",
        "shannon", "thompson", "torvalds", "turing", "wilson", "wozniak", "wright", "yalow",
    ]

    static func random() -> String {
        "\(adjectives.randomElement() ?? "brave")_\(names.randomElement() ?? "turing")"
    }
}
