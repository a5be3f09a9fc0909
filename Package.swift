// swift-tools-version:6.0
// Alza: a Swift implementation of the ALZA hybrid payment system. See README.md and docs/architecture.md.
//
// Layers (imports only point down): CSodium/CLZ4 <- AlzaCore <- AlzaLedger <- AlzaConsensus <- AlzaNet, AlzaSim
// <- AlzaNode <- alza. The dependency list below is the one DESIGN.md §2 allows; nothing here may name SwiftNIO.
import PackageDescription

/// Settings every Alza target compiles with: Swift 6 language mode (strict concurrency) plus explicit `any`.
let alzaSwiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Alza",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "alza", targets: ["alza"]),
        .executable(name: "alza-bench", targets: ["alza-bench"]),
        .library(name: "AlzaCore", targets: ["AlzaCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]
        ),
        .target(
            name: "AlzaCore",
            dependencies: ["CSodium", "CLZ4"],
            swiftSettings: alzaSwiftSettings
        ),
        .target(
            name: "AlzaLedger",
            dependencies: ["AlzaCore"],
            swiftSettings: alzaSwiftSettings
        ),
        .target(
            name: "AlzaConsensus",
            dependencies: ["AlzaCore", "AlzaLedger"],
            swiftSettings: alzaSwiftSettings
        ),
        .target(
            name: "AlzaSim",
            dependencies: ["AlzaCore", "AlzaLedger", "AlzaConsensus"],
            swiftSettings: alzaSwiftSettings
        ),
        .executableTarget(
            name: "alza",
            dependencies: [
                "AlzaCore",
                "AlzaLedger",
                "AlzaConsensus",
                "AlzaSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: alzaSwiftSettings
        ),
        .executableTarget(
            name: "alza-bench",
            dependencies: [
                "AlzaCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Bench",
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaCoreTests",
            dependencies: ["AlzaCore"],
            swiftSettings: alzaSwiftSettings
        ),
    ]
)
