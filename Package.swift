// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "audiocap",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "audiocapd", targets: ["audiocapd"]),
        .executable(name: "audiocap", targets: ["audiocap"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CALSA",
            pkgConfig: "alsa",
            providers: [.apt(["libasound2-dev"])]
        ),
        .systemLibrary(
            name: "CFLAC",
            pkgConfig: "flac",
            providers: [.apt(["libflac-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "CaptureCore",
            dependencies: [
                .product(name: "TOMLKit", package: "TOMLKit")
            ]
        ),
        .target(name: "CSystemShims"),
        .target(
            name: "CaptureEnvironment",
            dependencies: ["CaptureCore", "CALSA"]
        ),
        .target(name: "CaptureProtocol"),
        .target(
            name: "CaptureClient",
            dependencies: [
                "CaptureCore",
                "CaptureEnvironment",
                "CaptureProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "CaptureDaemon",
            dependencies: [
                "CaptureCore",
                "CaptureEnvironment",
                "CALSA",
                "CFLAC",
                "CSQLite",
                "CSystemShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                "CaptureProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .target(
            name: "CaptureCommands",
            dependencies: [
                "CaptureCore",
                "CaptureEnvironment",
                "CaptureProtocol",
                "CaptureClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "audiocapd",
            dependencies: [
                "CaptureCore",
                "CaptureDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "audiocap",
            dependencies: ["CaptureCommands"]
        ),
        .executableTarget(
            name: "audiocap-bench",
            dependencies: ["CaptureCore", "CaptureDaemon", "CMallocCounter"],
            path: "bench/audiocap-bench"
        ),
        .executableTarget(
            name: "testmic-check",
            dependencies: ["TestSupport"],
            path: "Tools/testmic-check"
        ),
        .executableTarget(
            name: "generate-manpage",
            path: "Tools/generate-manpage"
        ),
        .target(
            name: "CMallocCounter",
            path: "bench/CMallocCounter"
        ),
        .target(
            name: "TestSupport",
            dependencies: ["CaptureCore", "CaptureProtocol"],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "CaptureCoreTests",
            dependencies: ["CaptureCore", "TestSupport"]
        ),
        .testTarget(
            name: "CaptureDaemonTests",
            dependencies: [
                "CaptureDaemon", "CaptureCore", "CaptureProtocol", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CaptureCommandsTests",
            dependencies: [
                "CaptureCommands", "CaptureClient", "CaptureProtocol", "CaptureCore", "CaptureEnvironment",
                "TestSupport",
            ]
        ),
        .testTarget(
            name: "CaptureProtocolTests",
            dependencies: ["CaptureProtocol", "TestSupport"]
        ),
        .testTarget(
            name: "CaptureClientTests",
            dependencies: [
                "CaptureClient", "CaptureProtocol", "CaptureCore", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["CaptureCore", "CaptureProtocol", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
