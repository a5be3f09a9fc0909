// swift-tools-version:6.0
// libFuzzer harnesses for every Alza decoder that reads bytes from a peer or a file (docs/fuzzing.md).
//
// Build and run through `make fuzz` in the main package; by hand:
//   swift build --package-path Tests/Fuzz --scratch-path .build-fuzz -c debug \
//       -Xswiftc -sanitize=fuzzer,address
//   ALZA_FUZZ_TARGET=frame .build-fuzz/debug/alza-fuzz .build-fuzz/corpus-frame Tests/Fuzz/corpus/frame
import PackageDescription

let package = Package(
    name: "AlzaFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Alza", path: "../.."),
    ],
    targets: [
        // The `alza_fuzz_main` symbol SwiftPM's link line expects; it starts libFuzzer's driver.
        .target(name: "CFuzzDriver"),
        .executableTarget(
            name: "alza-fuzz",
            dependencies: [
                "CFuzzDriver",
                .product(name: "AlzaCore", package: "Alza"),
                .product(name: "AlzaLedger", package: "Alza"),
                .product(name: "AlzaConsensus", package: "Alza"),
                .product(name: "AlzaNetCore", package: "Alza"),
                .product(name: "AlzaField", package: "Alza"),
            ],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                // libFuzzer supplies `main`; the harness only defines LLVMFuzzerTestOneInput.
                .unsafeFlags(["-parse-as-library"]),
            ]
        ),
    ]
)
