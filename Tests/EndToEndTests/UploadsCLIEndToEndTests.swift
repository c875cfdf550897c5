// End to end: `audiocap uploads`, `audiocap status` and GET /v1/uploads against a running audiocapd, with and
// without destinations, and the station id in status and events.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized) struct UploadsCLIEndToEndTests {
        func cli(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
            var environment = ProcessInfo.processInfo.environment
            environment.removeValue(forKey: "AUDIOCAP_SOCKET")
            let result = try ProcessRunner.run(Binaries.audiocap, args, environment: environment, timeout: 30)
            return (
                result.status, String(decoding: result.stdout, as: UTF8.self),
                String(decoding: result.stderr, as: UTF8.self)
            )
        }

        @Test func aDaemonWithoutDestinationsSaysHowToAddOne() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(
                    CLIEndToEndTests.config(dir, recordings: [("main", 3600)], extra: "[station]\nid = \"e2e-7\""))
                let daemon = try dir.launch()
                try #require(dir.waitForControl(), "\(daemon.log)")
                let text = try cli(["--socket", dir.socket, "uploads"])
                #expect(text.status == 0, "\(text.err)")
                #expect(
                    text.out.hasPrefix("station: e2e-7\nno uploads configured: add a [[destination]]"), "\(text.out)")
                let json = try cli(["--socket", dir.socket, "--json", "uploads"])
                let uploads = try ControlAPI.decoder().decode(UploadsResponse.self, from: Data(json.out.utf8))
                #expect(uploads == UploadsResponse(station: "e2e-7", destinations: [], webhooks: []))
                let status = try cli(["--socket", dir.socket, "status"])
                // The labels' column is as wide as the longest label shown (e.g. `look-back:`).
                #expect(
                    status.out.split(separator: "\n").contains {
                        $0.hasPrefix("station:")
                            && $0.dropFirst("station:".count).trimmingCharacters(in: .whitespaces) == "e2e-7"
                    }, "\(status.out)")
                #expect(!status.out.contains("uploads:"))
                #expect(daemon.terminate().status == 0)
            }
        }

        @Test func destinationsAndWebhooksAreListedMasked() throws {
            try DaemonFixture.with { dir in
                let extra = """
                    [station]
                    id = "e2e-8"
                    [[destination]]
                    name = "archive"
                    remote = "\(dir.path)/remote"
                    [[webhook]]
                    name = "ops"
                    url = "http://user:t0ken@127.0.0.1:9/in"
                    secret = "hunter2"
                    """
                try dir.writeConfig(CLIEndToEndTests.config(dir, recordings: [("main", 3600)], extra: extra))
                let daemon = try dir.launch()
                try #require(dir.waitForControl(), "\(daemon.log)")
                let text = try cli(["--socket", dir.socket, "uploads"])
                #expect(text.status == 0, "\(text.err)")
                #expect(text.out.contains("\narchive  "), "\(text.out)")
                #expect(text.out.contains("\nops  "), "\(text.out)")
                let json = try cli(["--socket", dir.socket, "--json", "uploads"])
                #expect(!json.out.contains("t0ken") && !json.out.contains("hunter2"), "\(json.out)")
                let uploads = try ControlAPI.decoder().decode(UploadsResponse.self, from: Data(json.out.utf8))
                #expect(uploads.station == "e2e-8")
                #expect(uploads.destinations.map(\.name) == ["archive"])
                #expect(uploads.webhooks.map(\.name) == ["ops"])
                let status = try cli(["--socket", dir.socket, "--json", "status"])
                let decoded = try ControlAPI.decoder().decode(StatusResponse.self, from: Data(status.out.utf8))
                #expect(decoded.station == "e2e-8")
                #expect(decoded.uploads?.destinations.map(\.name) == ["archive"])
                #expect(daemon.terminate().status == 0)
            }
        }

        @Test func withoutADaemonItIsUnavailable() throws {
            // No daemon at all: the usual "cannot reach", and 69 as every command.
            try DaemonFixture.with { dir in
                let result = try cli(["--socket", dir.file("nothing.sock"), "uploads"])
                #expect(result.status == 69)
                #expect(result.err.contains("cannot reach audiocapd"), "\(result.err)")
            }
        }
    }
}
