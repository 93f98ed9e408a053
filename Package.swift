// swift-tools-version: 6.0
import PackageDescription

// The layout is the architecture:
//   CSupport      the C shim: epoll, inotify, signalfd, timerfd, sockets, libsystemd (no policy)
//   DmypySystem   syscalls wrapped once (errno, EINTR, close-on-exec), typed
//   DmypyWire     mypy's wire format: frames, JSON, Python repr for printing
//   DmypyCLI      mypy's dmypy command line, parsed and printed as argparse does
//   DmypyClient   the native client: status file, connecting, each subcommand
//   DmypyEngine   the supervised Python worker that hosts mypy (adapter embedded)
//   DmypyWatch    inotify watcher and the module graph
//   DmypyDaemon   the single-threaded epoll daemon that ties them together
//   DmypyLSP      `dmypy lsp`: a language server over stdio, a client of the daemon
//   DmypyObjectStore  the remote cache's storage: S3 (SigV4, AsyncHTTPClient) and file:// stores
//   DmypyRemoteCache  the remote cache's git lookup, fetch and push (`dmypy cache`), on DmypyObjectStore
//   dmypy         the one executable: client, and `dmypy daemon`
let package = Package(
    name: "dmypy-swift",
    products: [
        .executable(name: "dmypy", targets: ["dmypy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "CSupport",
            path: "CSupport",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .target(name: "DmypySystem", dependencies: ["CSupport"]),
        .target(name: "DmypyWire"),
        .target(name: "DmypyCLI"),
        .target(name: "DmypyClient", dependencies: ["DmypySystem", "DmypyWire"]),
        .target(
            name: "DmypyEngine",
            dependencies: ["DmypySystem", "DmypyWire"],
            resources: [.embedInCode("Resources/engine_adapter.py"), .embedInCode("Resources/engine_cache.py"),
                        .embedInCode("Resources/engine_fastpath.py"), .embedInCode("Resources/engine_update.py"),
                        .embedInCode("Resources/engine_remote.py")]
        ),
        .target(name: "DmypyWatch", dependencies: ["DmypySystem"]),
        .target(
            name: "DmypyDaemon",
            dependencies: ["DmypySystem", "DmypyWire", "DmypyEngine", "DmypyWatch"]
        ),
        .target(name: "DmypyLSP", dependencies: ["DmypyClient", "DmypySystem", "DmypyWire"]),
        .target(
            name: "DmypyObjectStore",
            dependencies: [
                "DmypySystem",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(name: "DmypyRemoteCache", dependencies: ["DmypyObjectStore", "DmypyEngine", "DmypySystem", "DmypyWire"]),
        .executableTarget(
            name: "dmypy",
            dependencies: ["DmypyClient", "DmypyDaemon", "DmypyLSP", "DmypyCLI", "DmypyEngine", "DmypyWire", "DmypySystem",
                           "DmypyRemoteCache", "DmypyObjectStore"]
        ),
        .testTarget(name: "DmypySystemTests", dependencies: ["DmypySystem"]),
        .testTarget(name: "DmypyWireTests", dependencies: ["DmypyWire"]),
        .testTarget(name: "DmypyCLITests", dependencies: ["DmypyCLI"], exclude: ["argparse_oracle.py"]),
        .testTarget(name: "DmypyWatchTests", dependencies: ["DmypyWatch", "DmypySystem"]),
        .testTarget(name: "DmypyDaemonTests", dependencies: ["DmypyDaemon"]),
        .testTarget(name: "DmypyObjectStoreTests", dependencies: ["DmypyObjectStore"], exclude: ["fetch-sigv4-suite"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["DmypyWire", "DmypySystem", "DmypyObjectStore", "dmypy"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
