// End to end: schemathesis fuzzes the control API from docs/openapi.yaml while the daemon records.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Where `scripts/install-test-python.sh` put schemathesis: `AUDIOCAP_TEST_VENV` or /opt/audiocap-test-venv.
enum Schemathesis {
    static let venv = ProcessInfo.processInfo.environment["AUDIOCAP_TEST_VENV"] ?? "/opt/audiocap-test-venv"
    static var executable: String { venv + "/bin/schemathesis" }
    static var python: String { venv + "/bin/python3" }
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// The source tree (this file is Tests/EndToEndTests/…).
    static let sourceRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}

extension EndToEnd {
    @Suite(
        .serialized,
        .enabled(
            if: Schemathesis.isAvailable,
            "schemathesis is not installed: run `sh scripts/install-test-python.sh` (it goes to /opt/audiocap-test-venv, or set AUDIOCAP_TEST_VENV)"
        ))
    struct FuzzTests {
        /// Examples per operation and phase: 50 (about 500 requests in all phases, 10 s here), or
        /// `AUDIOCAP_FUZZ_EXAMPLES` for a longer run. `AUDIOCAP_FUZZ_SEED` repeats a run.
        static let maximumExamples =
            ProcessInfo.processInfo.environment["AUDIOCAP_FUZZ_EXAMPLES"].flatMap { Int($0) } ?? 50
        static let seed =
            ProcessInfo.processInfo.environment["AUDIOCAP_FUZZ_SEED"].flatMap { Int($0) }
            ?? Int.random(in: 1...999_999)

        @Test func noInputMakesTheServerFailOrLoseAudio() throws {
            let api = try PacedGeneratorDaemon()
            defer { api.remove() }

            // The document without `follow`: a follow stream never ends, which a fuzzer takes for a hung
            // server (ConnectionLimitTests covers the streams).
            let document = try String(contentsOfFile: Schemathesis.sourceRoot + "/docs/openapi.yaml", encoding: .utf8)
            let withoutFollow = document.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.contains("#/components/parameters/Follow") }.joined(separator: "\n")
            #expect(withoutFollow.count < document.count)
            let fuzzed = api.dir.file("openapi-fuzz.yaml")
            try withoutFollow.write(toFile: fuzzed, atomically: true, encoding: .utf8)

            // schemathesis speaks TCP: forward a loopback port to the socket.
            let forwarder = Process()
            forwarder.executableURL = URL(fileURLWithPath: Schemathesis.python)
            forwarder.arguments = [Schemathesis.sourceRoot + "/Tests/Fixtures/fuzz/forward.py", api.socket]
            let input = Pipe()
            let output = Pipe()
            forwarder.standardInput = input
            forwarder.standardOutput = output
            try forwarder.run()
            defer {
                try? input.fileHandleForWriting.close()
                forwarder.terminate()
                forwarder.waitUntilExit()
            }
            let portLine = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            let port = try #require(
                Int(portLine.trimmingCharacters(in: .whitespacesAndNewlines)), "forwarder said \(portLine)")

            let seed = Self.seed
            var environment = ProcessInfo.processInfo.environment
            environment["NO_COLOR"] = "1"
            // Hooks keep generated requests away from `main` in the coverage and fuzzing phases; the
            // stateful phase, last, may still stop it with a name it read from GET /v1/recordings.
            environment["SCHEMATHESIS_HOOKS"] = "hooks"
            environment["PYTHONPATH"] = Schemathesis.sourceRoot + "/Tests/Fixtures/fuzz"
            environment["AUDIOCAP_FUZZ_KEEP"] = "main"
            // In the test's directory (`env -C`): schemathesis keeps a cache in `.schemathesis` where it runs.
            let result = try ProcessRunner.run(
                "env",
                [
                    "-C", api.dir.path, Schemathesis.executable, "run", fuzzed, "--url", "http://127.0.0.1:\(port)",
                    "--checks", "not_a_server_error",
                    "--max-examples", String(Self.maximumExamples), "--workers", "1", "--request-timeout", "10",
                    "--seed", String(seed), "--generation-database", "none", "--no-color",
                ],
                environment: environment, timeout: Self.maximumExamples > 50 ? 1800 : 150)
            let out = String(decoding: result.stdout, as: UTF8.self) + String(decoding: result.stderr, as: UTF8.self)
            // The summary, for the test log: operations, test cases, failures.
            let summary = out.split(separator: "\n").filter {
                $0.contains("API Operations") || $0.contains("Test cases") || $0.contains("Test Phases")
                    || $0.contains("passed")
                    || $0.contains("failed") || $0.contains("errors")
            }
            print("schemathesis (seed \(seed)):\n" + summary.joined(separator: "\n"))
            #expect(result.status == 0, "schemathesis found a problem (seed \(seed)):\n\(out.suffix(6000))")
            #expect(!out.contains("Server error"), "\(out.suffix(6000))")
            try api.expectAliveAndGapless(stoppedThroughTheAPI: true)
        }
    }
}
