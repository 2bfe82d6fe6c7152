// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cairn",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cairn", targets: ["cairn"]),
        .library(name: "CairnKit", targets: ["CairnKit"]),
        .library(name: "CairnGit", targets: ["CairnGit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        // C that libgit2 needs around it (lazy TLS set-up, fast SHA-1, Adler-32) and the system calls Swift cannot make.
        .target(name: "CGit2Helpers", dependencies: ["CGit2"], linkerSettings: [.linkedLibrary("z")]),
        .target(name: "CSystemCalls"),
        .target(name: "CHTTP"),
        .target(name: "CLooseObjectCheck", dependencies: ["CGit2"], linkerSettings: [.linkedLibrary("z")]),
        .target(name: "CairnGit", dependencies: ["CGit2", "CGit2Helpers", "CLooseObjectCheck"]),
        .target(name: "CairnKit", dependencies: [
            "CairnGit",
            "CSystemCalls",
            "CHTTP",
            .product(name: "Yams", package: "Yams"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "MCP", package: "swift-sdk"),
        ]),
        .target(name: "CairnCLI", dependencies: [
            "CairnKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "cairn", dependencies: ["CairnCLI"]),
        .testTarget(name: "CairnGitTests", dependencies: ["CairnGit"]),
        .testTarget(name: "CairnKitTests", dependencies: ["CairnKit", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "CairnCLITests", dependencies: ["CairnCLI"]),
        .testTarget(name: "EndToEndTests", dependencies: ["CairnKit"]),
    ],
    swiftLanguageModes: [.v6]
)
