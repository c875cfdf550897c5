// A network source: an HTTP stream on 127.0.0.1 (served by a second ffmpeg) recorded next to a generator;
// the server goes away for 10 s and comes back; the URL's password is never shown.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .enabled(if: HTTPStream.isAvailable, Comment(rawValue: HTTPStream.unavailableReason ?? "")))
    struct NetworkSourceEndToEndTests {
        /// The stream is recorded; the server is stopped for 10 s and started again; the recording resumes
        /// and its ledger shows the outage; `gen` never notices; and the password in the URL appears nowhere:
        /// not in the daemon's log, status (API and CLI), events (file and API), metrics, or any file it wrote.
        @Test func anHTTPStreamDownFor10sResumesWithTheOutageInItsLedgerAndItsPasswordIsNeverShown() throws {
            let variant = 33_333
            let stream = try HTTPStream.start(sineOffset: variant)
            defer { stream.stop() }
            // Percent-encoded in the URL ("%21" is "!"): neither form may show.
            let password = "s3cret%21\(UInt32.random(in: 100_000...999_999))"
            let decoded = try #require(password.removingPercentEncoding)
            let url = stream.url(user: "listener", password: password)
            let masked = stream.url(user: "listener", password: "***")
            let metricsPort = try freeTCPPort()

            try DaemonFixture.with { dir in
                // A short first pause (doubling at each failed start) so that the source tries again soon
                // after the server is back.
                try dir.writeConfig(
                    multiSourceConfig(
                        dir,
                        sources: [
                            SourceTable.http("net", url: url, extra: "restart_delay_seconds = 0.08\nstall_seconds = 3"),
                            SourceTable.generator("gen", sineOffset: 0),
                        ],
                        recordings: [("net", "net"), ("gen", "gen")],
                        extra: "[metrics]\nlisten = \"127.0.0.1:\(metricsPort)\""))
                let daemon = try dir.launch()
                try #require(dir.waitForControl(), "\(daemon.log)")
                #expect(waitForAudio(under: dir.file("net"), bytes: 192_000, timeout: 20), "\(daemon.log)")
                #expect(waitForAudio(under: dir.file("gen"), bytes: 96_000, timeout: 20), "\(daemon.log)")
                let net = try #require(dir.sourceStatus("net"), "no status: \(daemon.log)")
                #expect(net.device == masked, "status shows \(net.device)")
                #expect(net.state == "running" && net.inputFormat == "http", "\(net)")
                // ffmpeg itself must be given the credentials: the daemon masks what it shows, not what it uses.
                if let pid = net.ffmpegPID, let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") {
                    let arguments = String(decoding: raw.map { $0 == 0 ? 0x0A : $0 }, as: UTF8.self)
                    let basic = Data("listener:\(password)".utf8).base64EncodedString()
                    #expect(
                        arguments.contains(url) || arguments.contains(basic), "ffmpeg runs without the credentials")
                }
                #expect(waitUntil(timeout: 10) { stream.clientsServed >= 1 })

                // The server goes away for 10 s.
                let downAt = Date()
                stream.takeDown()
                #expect(
                    waitUntil(timeout: 15) {
                        (dir.sourceStatus("net")?.restarts ?? 0) >= 1
                    }, "the daemon did not notice: \(daemon.log.suffix(3000))")
                // While it is away: status, events, metrics and the log say so, and never with the password.
                #expect(waitUntil(timeout: 10) { dir.sourceStatus("net")?.lastErrorLines.isEmpty == false })
                let remaining = 10 - Date().timeIntervalSince(downAt)
                if remaining > 0 { usleep(UInt32(remaining * 1_000_000)) }
                let duringOutage = try #require(dir.status())
                // ffmpeg's error lines quote the URL: status shows them, and the log, masked.
                let errorLines = duringOutage.sources.first { $0.name == "net" }?.lastErrorLines ?? []
                #expect(
                    errorLines.contains { $0.contains(masked) && $0.contains("Connection refused") }, "\(errorLines)")
                #expect(daemon.log.contains(masked), "the log never shows the source's URL")
                try stream.bringUp()
                let upAt = Date()
                #expect(dir.waitForMoreAudio(in: "net", bytes: 192_000, timeout: 40), "\(daemon.log.suffix(3000))")
                let outage = upAt.timeIntervalSince(downAt)
                let recovery = Date().timeIntervalSince(upAt)

                // Everything the daemon shows, gathered while it runs.
                let statusBody = dir.get("/v1/status").body
                let eventsBody = dir.get("/v1/events?limit=100000").body
                let metrics = RawSocket.requestTCP(port: metricsPort, target: "/metrics")
                let cliStatus = try dir.cli(["status", "--json"])
                let cliText = try dir.cli(["status"])
                #expect(cliStatus.status == 0 && cliText.status == 0, "\(cliStatus.err) \(cliText.err)")
                #expect(statusBody.contains("\"sources\""), "\(statusBody)")
                #expect(metrics.contains("source=\"net\"") && metrics.contains("source=\"gen\""), "\(metrics)")
                #expect(cliText.out.contains("net") && cliStatus.out.contains(masked), "\(cliStatus.out)")
                #expect(
                    eventsBody.contains("\"source\":\"net\"") || eventsBody.contains("\"source\": \"net\""),
                    "no event names the source `net`")
                let after = try #require(dir.status())
                let gen = try #require(after.recordings.first { $0.name == "gen" })
                #expect(gen.gaps == 0 && gen.droppedFrames == 0, "\(gen)")
                #expect(after.sources.first { $0.name == "gen" }?.restarts == 0)
                let netRecording = try #require(after.recordings.first { $0.name == "net" })
                #expect(netRecording.source == "net" && netRecording.gaps >= 1, "\(netRecording)")
                #expect(daemon.terminate().status == 0)

                // The password appears nowhere.
                let shown: [(String, String)] = [
                    ("the daemon's log (stderr)", daemon.log),
                    ("GET /v1/status", statusBody),
                    ("the status during the outage", "\(duringOutage)"),
                    ("GET /v1/events", eventsBody),
                    ("GET /metrics", metrics),
                    ("audiocap status --json", cliStatus.out + cliStatus.err),
                    ("audiocap status", cliText.out + cliText.err),
                ]
                for (place, text) in shown {
                    #expect(!text.isEmpty, "\(place) is empty")
                    #expect(!text.contains(password) && !text.contains(decoded), "the password is in \(place)")
                }
                // Nor in any file the daemon wrote (events.jsonl, its state, the sidecars): all but the
                // configuration and the audio.
                let written = (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String]) ?? []
                var checked = 0
                for file in written where !file.hasSuffix(".wav") && !file.hasSuffix(".toml") {
                    var isDirectory: ObjCBool = false
                    let path = dir.file(file)
                    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
                        !isDirectory.boolValue,
                        let data = FileManager.default.contents(atPath: path)
                    else { continue }
                    checked += 1
                    #expect(
                        data.range(of: Data(password.utf8)) == nil && data.range(of: Data(decoded.utf8)) == nil,
                        "the password is in \(file)")
                }
                #expect(checked >= 3, "\(written)")
                #expect(FileManager.default.fileExists(atPath: dir.state + "/events.jsonl"))

                // The recording: the stream before the outage and after it (each connection starts the
                // pattern at frame 0), bit for bit, with the outage in the ledger where the break is.
                let ledger = try LedgerReading(directory: dir.file("net"))
                #expect(sidecarSources(under: dir.file("net")).allSatisfy { $0 == "net" })
                let restarts = ledger.gaps("ffmpeg_restart")
                #expect(!restarts.isEmpty, "\(ledger)")
                let first = try #require(ledger.gaps.first)
                let last = try #require(ledger.gaps.last)
                let before = try PatternCheck.check(
                    channels: 2, sineOffset: variant, files: ledger.files, frames: 0..<first.fileFrame)
                #expect(before.bitExact && before.frames >= 40_000, "\(before) \(ledger)")
                let resumed = try PatternCheck.check(
                    channels: 2, sineOffset: variant, files: ledger.files, frames: last.fileFrame..<ledger.framesInFiles
                )
                #expect(resumed.bitExact && resumed.frames >= 40_000, "\(resumed) \(ledger)")
                let whole = try PatternCheck.check(channels: 2, sineOffset: variant, files: ledger.files)
                #expect(whole.mismatchingFrames == 0, "\(whole)")
                // A connection that ended after a whole number of the pattern's 65,536-frame periods shows no
                // break at all: the next one starts the counter at 0, right where it would have wrapped.
                let invisible = ledger.gaps.filter { $0.fileFrame % 65_536 == 0 }.count
                #expect(
                    whole.discontinuities == ledger.gaps.count
                        || (invisible > 0 && whole.discontinuities == ledger.gaps.count - invisible),
                    "\(whole) \(ledger)")
                let lost = Double(ledger.gaps.map(\.frames).reduce(0, +)) / 48_000
                #expect(
                    lost >= outage - 1 && lost <= outage + recovery + 1,
                    "ledger \(lost) s, outage \(outage) s + \(recovery) s to recover")
                let genReport = try PatternCheck.check(channels: 2, files: wavFiles(under: dir.file("gen")))
                #expect(genReport.bitExact, "\(genReport)")
                print(
                    "network-source outage_s=\(String(format: "%.2f", outage)) recovery_s=\(String(format: "%.2f", recovery)) "
                        + "ledger_s=\(String(format: "%.2f", lost)) clients_served=\(stream.clientsServed) \(ledger)")
            }
        }
    }
}
