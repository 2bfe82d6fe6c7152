// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cairn",
    platforms: [.macOS(.v13)],
    products: [
        // `cairn` itself is the C front end launcher/cairn.c, built by the Makefile next to cairn-core.
        .executable(name: "cairn-core", targets: ["cairn-core"]),
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
        .target(name: "CGit2Support", dependencies: ["CGit2"], linkerSettings: [.linkedLibrary("z")]),
        .target(name: "CHTTP"),
        .target(name: "CairnGit", dependencies: ["CGit2", "CGit2Support"]),
        .target(name: "CairnKit", dependencies: [
            "CairnGit",
            "CGit2Support",
            "CHTTP",
            .product(name: "Yams", package: "Yams"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "MCP", package: "swift-sdk"),
        ]),
        .target(name: "CairnCLI", dependencies: [
            "CairnKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "cairn-core", dependencies: ["CairnCLI"]),
        .testTarget(name: "CairnGitTests", dependencies: ["CairnGit"]),
        .testTarget(name: "CairnKitTests", dependencies: ["CairnKit", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "CairnCLITests", dependencies: ["CairnCLI"]),
        .testTarget(name: "EndToEndTests", dependencies: ["CairnKit"]),
    ],
    swiftLanguageModes: [.v6]
)
