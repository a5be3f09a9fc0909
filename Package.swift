// swift-tools-version:6.0
// Alza: a Swift implementation of the ALZA hybrid payment system. See README.md and docs/architecture.md.
//
// Layers (imports only point down): CSodium/CLZ4/CAlzaSHA <- AlzaCore <- AlzaLedger <- AlzaConsensus;
// AlzaCore <- AlzaNetCore (pure network cores) <- AlzaNet (sockets) and AlzaSim (simulated network), siblings;
// AlzaConsensus + AlzaNet + AlzaSim <- AlzaNode <- alza. The dependency list below is the one
// DESIGN.md §2 allows; nothing here may name SwiftNIO.
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
        .library(name: "AlzaLedger", targets: ["AlzaLedger"]),
        .library(name: "AlzaConsensus", targets: ["AlzaConsensus"]),
        .library(name: "AlzaField", targets: ["AlzaField"]),
        .library(name: "AlzaRaFi", targets: ["AlzaRaFi"]),
        .library(name: "AlzaNetCore", targets: ["AlzaNetCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swhitty/FlyingFox.git", from: "0.27.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
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
        // SHA-256 on the x86 SHA extensions; libsodium stays the fallback (docs/decisions.md, D1).
        .target(
            name: "CAlzaSHA"
        ),
        // CRC-32C on SSE4.2's crc32 instruction, for replica checksums; software slicing-by-8 stays the fallback.
        .target(
            name: "CAlzaCRC32C"
        ),
        .target(
            name: "AlzaCore",
            dependencies: ["CSodium", "CLZ4", "CAlzaSHA", "CAlzaCRC32C"],
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
            name: "AlzaField",
            dependencies: ["AlzaCore", "AlzaLedger"],
            swiftSettings: alzaSwiftSettings
        ),
        .target(
            name: "AlzaRaFi",
            dependencies: ["AlzaCore"],
            swiftSettings: alzaSwiftSettings
        ),
        .target(
            name: "AlzaNetCore",
            dependencies: ["AlzaCore"],
            swiftSettings: alzaSwiftSettings
        ),
        .target(
            name: "AlzaNet",
            dependencies: [
                "AlzaCore", "AlzaNetCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: alzaSwiftSettings
        ),
        .target(
            name: "AlzaSim",
            dependencies: ["AlzaCore", "AlzaLedger", "AlzaConsensus", "AlzaField", "AlzaNetCore", "AlzaRaFi"],
            swiftSettings: alzaSwiftSettings
        ),
        .target(
            name: "AlzaNode",
            dependencies: [
                "AlzaCore", "AlzaLedger", "AlzaConsensus", "AlzaField", "AlzaNet",
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: alzaSwiftSettings
        ),
        .executableTarget(
            name: "alza",
            dependencies: [
                "AlzaCore",
                "AlzaLedger",
                "AlzaSim",
                "AlzaNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: alzaSwiftSettings
        ),
        .executableTarget(
            name: "alza-bench",
            dependencies: [
                "AlzaCore",
                "AlzaLedger",
                "AlzaConsensus",
                "AlzaField",
                "AlzaRaFi",
                "AlzaSim",
                "AlzaNet",
                "AlzaNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Bench",
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaCoreTests",
            dependencies: ["AlzaCore"],
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaLedgerTests",
            dependencies: ["AlzaCore", "AlzaLedger"],
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaFieldTests",
            dependencies: ["AlzaCore", "AlzaLedger", "AlzaField"],
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaRaFiTests",
            dependencies: ["AlzaCore", "AlzaRaFi"],
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaConsensusTests",
            dependencies: ["AlzaCore", "AlzaLedger", "AlzaConsensus"],
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaNetCoreTests",
            dependencies: ["AlzaCore", "AlzaNetCore"],
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaNetTests",
            dependencies: ["AlzaCore", "AlzaNet", .product(name: "Logging", package: "swift-log")],
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaNodeTests",
            dependencies: ["AlzaCore", "AlzaLedger", "AlzaConsensus", "AlzaField", "AlzaNet", "AlzaNode",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: alzaSwiftSettings
        ),
        .testTarget(
            name: "AlzaSimTests",
            dependencies: ["AlzaCore", "AlzaLedger", "AlzaConsensus", "AlzaSim"],
            swiftSettings: alzaSwiftSettings
        ),
    ]
)
