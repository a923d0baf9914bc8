// swift-tools-version:6.0
//
// One manifest for the host toolkit and the bare-metal kernel.
//   host:   swift build / swift test
//   kernel: scripts/build-kernel.sh  (swift build --triple aarch64-none-none-elf --toolset toolset.json --product Kernel)
import PackageDescription

let package = Package(
    name: "mmdbg",
    products: [
        .executable(name: "mmdbg", targets: ["mmdbg"]),
        .executable(name: "Kernel", targets: ["Kernel"]),
        .library(name: "GdbRemote", targets: ["GdbRemote"]),
        .library(name: "Inspect", targets: ["Inspect"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // ---- Shared ABI: the one definition of every structure the debugger decodes.
        .target(name: "KernelABI", path: "Sources/KernelABI"),

        // ---- Kernel (Embedded Swift for aarch64-none-none-elf; pure parts also build for the host)
        .target(name: "KernelSupport", dependencies: ["KernelABI"], path: "Sources/KernelSupport"),
        .target(name: "KernelCore", dependencies: ["KernelSupport"], path: "Sources/KernelCore",
                swiftSettings: [.swiftLanguageMode(.v5)]),
        // Kernel part 2: tasks, scheduler, syscalls, exception routing, ELF loading of the
        // embedded user programs (Sources/UserPrograms, built by scripts/build-kernel.sh).
        .target(name: "KernelTasks", dependencies: ["KernelCore", "KernelSupport"], path: "Sources/KernelTasks",
                swiftSettings: [.swiftLanguageMode(.v5)]),
        .executableTarget(name: "Kernel", dependencies: ["KernelCore", "KernelSupport", "KernelTasks"], path: "Sources/Kernel",
                          exclude: ["kernel.ld"],
                          // main.swift holds an @main type alongside other files.
                          swiftSettings: [.swiftLanguageMode(.v5), .unsafeFlags(["-parse-as-library"])]),

        // ---- Host toolkit
        .target(name: "QEMULauncher", path: "Sources/QEMULauncher"),
        // Starts QEMU then dies on demand: HarnessTests check QEMU never outlives its host.
        .executableTarget(name: "qemu-launch-probe", dependencies: ["QEMULauncher"], path: "Sources/qemu-launch-probe"),
        .target(name: "GdbRemote", path: "Sources/GdbRemote"),
        .executableTarget(name: "gdbremote-bench", dependencies: ["GdbRemote", "QEMULauncher", "TestSupport"],
                          path: "Sources/gdbremote-bench"),
        // process_vm_readv and pidfd_open, which the Swift Glibc module does not export.
        .target(name: "CProcessMemory", path: "Sources/CProcessMemory"),
        // Swift demangling (`Module.function`), shared by Inspect's symbols and DebugInfo's frames.
        .target(name: "SymbolNames", path: "Sources/SymbolNames"),
        // Optimized even in debug builds: the walker, ELF reader and dump decode are hot in the property
        // tests (6 000 hostile ELF parses, random table dumps) and in every debug mmdbg run.
        .target(name: "Inspect", dependencies: ["GdbRemote", "KernelABI", "CProcessMemory", "SymbolNames"], path: "Sources/Inspect",
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // libdw (elfutils) and Capstone, as system libraries like CReadline.
        .systemLibrary(name: "CDwarf", path: "Sources/CDwarf"),
        .systemLibrary(name: "CCapstone", path: "Sources/CCapstone"),
        // Source-level debug information for any AArch64 ELF with DWARF: units, lines, scopes,
        // call-frame unwinding, disassembly. Knows nothing of our kernel or of GdbRemote.
        .target(name: "DebugInfo", dependencies: ["CDwarf", "CCapstone", "SymbolNames"], path: "Sources/DebugInfo"),
        // Writes Tests/Vectors/translation/*.json from Inspect's walker (`--check`: diff only).
        .executableTarget(name: "gen-walker-vectors", dependencies: ["TestSupport", "Inspect", "QEMULauncher"],
                          path: "Sources/gen-walker-vectors"),
        .executableTarget(name: "inspect-bench", dependencies: ["Inspect", "GdbRemote", "QEMULauncher", "TestSupport"],
                          path: "Sources/inspect-bench"),
        // Guest RAM read directly (mmap, process_vm_readv) vs the stub vs gdb-multiarch, and the page-table dump.
        .executableTarget(name: "debuginfo-bench", dependencies: ["DebugInfo", "MmdbgCore", "GdbRemote", "QEMULauncher", "TestSupport"],
                          path: "Sources/debuginfo-bench"),
        .executableTarget(name: "memory-bench", dependencies: ["Inspect", "GdbRemote", "QEMULauncher", "TestSupport"],
                          path: "Sources/memory-bench"),
        // Recording overhead and last-write latency against a plain run / the initial snapshot only.
        // The 1M-input fuzz of print's expression language (scripts/fuzz-expressions.sh; a system test runs it).
        .executableTarget(name: "expression-fuzz", dependencies: ["MmdbgCore", "DebugInfo", "QEMULauncher", "SeededRandom"],
                          path: "Sources/expression-fuzz"),
        .executableTarget(name: "timetravel-bench", dependencies: ["FaultInjection", "MmdbgCore", "Inspect", "QEMULauncher", "TestSupport"],
                          path: "Sources/timetravel-bench"),
        // SplitMix64, seeded: fault selection and property tests draw from the same generator.
        .target(name: "SeededRandom", path: "Sources/SeededRandom"),
        .target(name: "FaultInjection", dependencies: ["GdbRemote", "Inspect", "QEMULauncher", "MmdbgCore", "KernelABI", "SeededRandom"],
                path: "Sources/FaultInjection"),
        .systemLibrary(name: "CReadline", path: "Sources/CReadline"),
        // The REPL's command language, registry and session (no terminal): mmdbg, scenario files and tests use it.
        .target(name: "MmdbgCore", dependencies: ["GdbRemote", "Inspect", "QEMULauncher", "DebugInfo"], path: "Sources/MmdbgCore"),
        .executableTarget(name: "mmdbg", dependencies: [
            "MmdbgCore", "GdbRemote", "Inspect", "FaultInjection", "QEMULauncher", "CReadline",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Sources/mmdbg",
        // Swift 5 mode: readline's API is C globals (rl_line_buffer, rl_attempted_completion_function…)
        // that Swift 6 strict concurrency rejects; the prompt runs on one thread.
        swiftSettings: [.swiftLanguageMode(.v5)]),

        // ---- Tests
        .target(name: "TestSupport", dependencies: ["QEMULauncher", "GdbRemote", "Inspect", "KernelABI", "SeededRandom"], path: "Sources/TestSupport"),
        // Doubles for the session's seams (a fake target): tests of MmdbgCore and FaultInjection run on it in milliseconds.
        .target(name: "SessionTestSupport", dependencies: ["MmdbgCore", "Inspect", "TestSupport", "DebugInfo"], path: "Sources/SessionTestSupport"),
        .testTarget(name: "KernelCoreTests", dependencies: ["KernelCore", "KernelSupport"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "KernelBootTests", dependencies: ["TestSupport", "QEMULauncher", "KernelABI", "GdbRemote"]),
        .testTarget(name: "GdbRemoteTests", dependencies: ["GdbRemote", "TestSupport"]),
        .testTarget(name: "InspectTests", dependencies: ["Inspect", "TestSupport", "KernelABI", "QEMULauncher", "GdbRemote"]),
        .testTarget(name: "DebugInfoTests", dependencies: ["DebugInfo", "SymbolNames", "Inspect", "TestSupport", "QEMULauncher"]),
        .testTarget(name: "MmdbgTests", dependencies: ["MmdbgCore", "TestSupport", "SessionTestSupport", "QEMULauncher", "Inspect", "DebugInfo"]),
        .testTarget(name: "FaultInjectionTests", dependencies: ["FaultInjection", "TestSupport", "SessionTestSupport", "MmdbgCore", "QEMULauncher", "Inspect", "SeededRandom"]),
        // QEMULauncher process hygiene and the TestSupport process runner.
        .testTarget(name: "HarnessTests", dependencies: ["TestSupport", "QEMULauncher"]),
        .testTarget(name: "GdbScriptsTests", dependencies: ["TestSupport", "QEMULauncher", "KernelABI"],
                    exclude: ["Fixtures"]),
    ]
)
