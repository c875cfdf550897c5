// The shipped systemd unit: valid to systemd-analyze, and hardened to an exposure score of at most 1.0.
import Foundation
import TestSupport
import Testing

let systemdAnalyze = ProcessRunner.which("systemd-analyze")

@Suite(.enabled(if: systemdAnalyze != nil, "systemd-analyze is not installed (apt-get install systemd)"))
struct SystemdUnitTests {
    /// The unit with ExecStart pointing at the built daemon (verify needs an existing binary).
    func unitCopy() throws -> (TemporaryDirectory, String) {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd/audiocapd.service").path
        let text = try String(contentsOfFile: source, encoding: .utf8)
            .replacing("/usr/local/bin/audiocapd", with: Binaries.audiocapd)
        let dir = try TemporaryDirectory()
        try text.write(toFile: dir.file("audiocapd.service"), atomically: true, encoding: .utf8)
        return (dir, dir.file("audiocapd.service"))
    }

    @Test func verifyReportsNothing() throws {
        let (dir, unit) = try unitCopy()
        defer { dir.remove() }
        let result = try ProcessRunner.run(systemdAnalyze!, ["verify", "--man=no", unit])
        let output = String(decoding: result.stdout + result.stderr, as: UTF8.self)
        #expect(result.status == 0, "\(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(output)")
    }

    /// The unit with systemd/audiocapd-network.conf as its drop-in, where `systemd-analyze` finds it.
    func unitWithNetworkDropIn() throws -> (TemporaryDirectory, String) {
        let (dir, unit) = try unitCopy()
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd/audiocapd-network.conf").path
        try FileManager.default.createDirectory(
            atPath: dir.file("audiocapd.service.d"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source, toPath: dir.file("audiocapd.service.d/network.conf"))
        return (dir, unit)
    }

    @Test func theNetworkDropInIsValidAndOpensTheNetwork() throws {
        let (dir, unit) = try unitWithNetworkDropIn()
        defer { dir.remove() }
        var environment = ProcessInfo.processInfo.environment
        environment["SYSTEMD_UNIT_PATH"] = dir.path + ":"
        let verify = try ProcessRunner.run(systemdAnalyze!, ["verify", "--man=no", unit], environment: environment)
        let output = String(decoding: verify.stdout + verify.stderr, as: UTF8.self)
        #expect(verify.status == 0, "\(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(output)")
        let security = try ProcessRunner.run(
            systemdAnalyze!, ["security", "--offline=true", unit], environment: environment)
        let report = String(decoding: security.stdout + security.stderr, as: UTF8.self)
        #expect(report.contains("Service has access to the host's network"), "\(report.suffix(800))")
    }

    @Test func securityExposureIsAtMostOne() throws {
        let (dir, unit) = try unitCopy()
        defer { dir.remove() }
        let result = try ProcessRunner.run(systemdAnalyze!, ["security", "--offline=true", unit])
        let output = String(decoding: result.stdout + result.stderr, as: UTF8.self)
        let match = output.firstMatch(of: /Overall exposure level for [^:]+: ([0-9.]+)/)
        let score = try #require(match.flatMap { Double($0.output.1) }, "\(output.suffix(500))")
        #expect(score <= 1.0, "exposure \(score)")
    }
}
