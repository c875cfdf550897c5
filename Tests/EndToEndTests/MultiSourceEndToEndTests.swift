// Several sources in one daemon, on two paced ALSA test microphones and ffmpeg's generator: each recording
// is its own source's audio, a source's faults touch no other, and a reload adds, removes and changes
// sources without disturbing the ones it leaves alone.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The pattern's variants the sources play, so that a recording of the wrong source is caught.
private enum Variant {
    static let left = 11_111
    static let right = 22_222
    static let generator = 0
}

extension EndToEnd {
    @Suite(
        .serialized,
        .enabled(
            if: TestMic.isAvailable, "the ALSA test microphone needs pulseaudio, pactl, pacat and libasound2-plugins"))
    struct MultiSourceEndToEndTests {
        /// Three sources, three recordings. First they run undisturbed; then `right`'s ffmpeg is SIGKILLed
        /// five times and its microphone unplugged for 5 s. `left` and `gen` never notice; `right`'s ledger
        /// accounts for every loss; every recording is its own source's pattern, bit for bit, between gaps.
        @Test func threeSourcesRecordTheirOwnAudioAndOneSourcesFaultsTouchNoOther() throws {
            let rightState = try TemporaryDirectory(prefix: "testmic", in: "/tmp")
            defer { rightState.remove() }
            let left = try TestMic.start(deviceName: "mica", sineOffset: Variant.left)
            defer { left.stop() }
            var right = try TestMic.start(
                stateDirectory: rightState.path, deviceName: "micb", sineOffset: Variant.right)
            defer { right.stop() }
            let alsa = try #require(TestMic.environment(for: [left, right])["ALSA_CONFIG_PATH"])

            try DaemonFixture.with(environment: ["ALSA_CONFIG_PATH": alsa]) { dir in
                // `right` restarts after 1 ms, doubling: five kills and a 5 s outage fit in about 10 s.
                try dir.writeConfig(
                    multiSourceConfig(
                        dir,
                        sources: [
                            SourceTable.alsa("left", device: "mica"),
                            SourceTable.alsa(
                                "right", device: "micb", extra: "restart_delay_seconds = 0.001\nstall_seconds = 2"),
                            SourceTable.generator("gen", sineOffset: Variant.generator),
                        ],
                        recordings: [("left", "left"), ("right", "right"), ("gen", "gen")]))
                let daemon = try dir.launch()
                try #require(dir.waitForControl(), "\(daemon.log)")
                for name in ["left", "right", "gen"] {
                    #expect(waitForAudio(under: dir.file(name), bytes: 192_000, timeout: 20), "\(name): \(daemon.log)")
                }
                let status = try #require(dir.status(), "no status: \(daemon.log)")
                #expect(status.sources.map(\.name) == ["left", "right", "gen"])
                #expect(status.sources.prefix(2).map(\.device) == ["mica", "micb"])
                #expect(status.sources.allSatisfy { $0.state == "running" && $0.ffmpegPID != nil }, "\(status.sources)")
                #expect(Set(status.sources.compactMap(\.ffmpegPID)).count == 3, "each source runs its own ffmpeg")
                for recording in ["left", "right", "gen"] {
                    #expect(status.recordings.first { $0.name == recording }?.source == recording)
                }
                let leftPID = status.sources[0].ffmpegPID
                let genPID = status.sources[2].ffmpegPID

                // `right`'s ffmpeg killed five times, each once it delivers again.
                var previous = status.sources[1].ffmpegPID
                for kill in 1...5 {
                    let pid = try #require(previous, "no ffmpeg for `right` before kill \(kill)")
                    Glibc.kill(pid, SIGKILL)
                    previous = dir.waitForFFmpeg(of: "right", other: pid, timeout: 15)
                    #expect(previous != nil, "`right` did not restart after kill \(kill): \(daemon.log.suffix(3000))")
                    #expect(dir.waitForMoreAudio(in: "right", bytes: 96_000, timeout: 15), "after kill \(kill)")
                }
                // Unplugged for 5 s.
                let unpluggedAt = Date()
                right.stop()
                #expect(
                    waitUntil(timeout: 15) {
                        dir.eventLog().contains {
                            $0["kind"] as? String == "source.device_unavailable" && $0["source"] as? String == "right"
                        }
                    }, "no source.device_unavailable for `right`: \(daemon.log.suffix(3000))")
                let remaining = 5 - Date().timeIntervalSince(unpluggedAt)
                if remaining > 0 { usleep(UInt32(remaining * 1_000_000)) }
                right = try TestMic.start(
                    stateDirectory: rightState.path, deviceName: "micb", sineOffset: Variant.right)
                let pluggedAt = Date()
                #expect(
                    dir.waitForMoreAudio(in: "right", bytes: 192_000, timeout: 40), "\(daemon.log.suffix(3000))")
                let outage = pluggedAt.timeIntervalSince(unpluggedAt)
                let recovery = Date().timeIntervalSince(pluggedAt)

                // Meanwhile the other sources ran on, untouched.
                let after = try #require(dir.status(), "no status: \(daemon.log)")
                let sources = Dictionary(after.sources.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                #expect(sources["left"]?.restarts == 0 && sources["left"]?.ffmpegPID == leftPID, "\(after.sources)")
                #expect(sources["gen"]?.restarts == 0 && sources["gen"]?.ffmpegPID == genPID, "\(after.sources)")
                #expect((sources["right"]?.restarts ?? 0) >= 6, "\(after.sources)")
                for name in ["left", "gen"] {
                    let recording = after.recordings.first { $0.name == name }
                    #expect(recording?.gaps == 0 && recording?.droppedFrames == 0, "\(String(describing: recording))")
                    #expect(sources[name]?.droppedFrames == 0)
                }
                #expect((after.recordings.first { $0.name == "right" }?.gaps ?? 0) >= 6)
                for source in after.sources {
                    #expect(
                        source.levels?.source == source.name,
                        "\(source.name)'s levels: \(String(describing: source.levels))")
                }
                // Every ffmpeg that exited so far was `right`'s, and its events say so.
                let exits = dir.eventLog().filter { $0["kind"] as? String == "ffmpeg.exited" }
                #expect(exits.count >= 6)
                #expect(exits.allSatisfy { $0["source"] as? String == "right" }, "\(exits)")
                #expect(daemon.terminate().status == 0)

                // Each recording's events (segments closed, gaps) name its source.
                let recordingEvents = dir.eventLog().filter { $0["recording"] is String }
                #expect(!recordingEvents.isEmpty)
                for event in recordingEvents {
                    #expect(event["source"] as? String == event["recording"] as? String, "\(event)")
                }

                let ledgers = try ["left", "right", "gen"].map { try LedgerReading(directory: dir.file($0)) }
                let (leftLedger, rightLedger, genLedger) = (ledgers[0], ledgers[1], ledgers[2])
                for (name, ledger) in zip(["left", "right", "gen"], ledgers) {
                    #expect(ledger.files.count == 1, "\(name): \(ledger)")
                    #expect(sidecarSources(under: dir.file(name)) == [name], "the sidecar names the source")
                }
                // `left` and `gen`: no gap, and their own pattern bit for bit (not each other's).
                for (name, ledger, variant) in [
                    ("left", leftLedger, Variant.left), ("gen", genLedger, Variant.generator),
                ] {
                    #expect(ledger.gaps.isEmpty, "\(name): \(ledger)")
                    let report = try PatternCheck.check(channels: 2, sineOffset: variant, files: ledger.files)
                    #expect(report.bitExact && report.discontinuities == 0, "\(name): \(report)")
                    let mixedUp = try PatternCheck.check(channels: 2, sineOffset: Variant.right, files: ledger.files)
                    #expect(!mixedUp.bitExact)
                }
                // The generator's levels in its sidecar are the pattern's.
                if let data = FileManager.default.contents(atPath: genLedger.files[0] + ".json"),
                    let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                    let segment = json["segment"] as? [String: Any]
                {
                    #expect((segment["peak_dbfs"] as? [Double])?.first == -20, "\(segment)")
                    #expect(abs(((segment["rms_dbfs"] as? [Double])?.first ?? 0) - -23.01) < 0.02, "\(segment)")
                }
                // Every frame the three captures delivered is in a file or in `right`'s ledger.
                let delivered = try framesDelivered(daemon)
                let accounted = ledgers.map { $0.framesInFiles - $0.silenceFrames + $0.exactGapFrames }.reduce(0, +)
                #expect(
                    accounted == delivered,
                    "delivered \(delivered), accounted \(accounted): \(ledgers.map(\.description))")

                // `right`: one gap per kill, at the break in its pattern, as long as the audio it lost; then the
                // outage, as long as the device was away; its own pattern bit for bit before and after. (As the
                // device goes, ALSA hands out some held frames and reports an xrun, which ffmpeg prints on its
                // stderr, not in the audio: the outage's first gap lands up to a chunk, 4,800 frames, after them.)
                let gaps = rightLedger.gaps
                #expect(gaps.count >= 6 && gaps.prefix(5).allSatisfy { $0.kind == "ffmpeg_restart" }, "\(rightLedger)")
                #expect(rightLedger.gaps("ffmpeg_restart").count >= 6, "\(rightLedger)")
                guard gaps.count >= 6 else { return }
                let files = rightLedger.files
                let beforeOutage = try PatternCheck.check(
                    channels: 2, sineOffset: Variant.right, files: files,
                    frames: 0..<max(gaps[4].fileFrame, gaps[5].fileFrame - 4_800))
                #expect(beforeOutage.mismatchingFrames == 0, "\(beforeOutage)")
                #expect(beforeOutage.discontinuities == 5, "\(beforeOutage) \(rightLedger)")
                for (gap, cut) in zip(gaps.prefix(5), beforeOutage.firstDiscontinuities) {
                    #expect(gap.fileFrame == cut.frame, "gap at \(gap.fileFrame), break at \(cut)")
                    let missing = unwrappedJump(cut.jump, near: gap.frames)
                    #expect(abs(missing - gap.frames) < 12_000, "estimated \(gap.frames), missing \(missing)")
                }
                let lastGap = try #require(rightLedger.gaps.last)
                let afterOutage = try PatternCheck.check(
                    channels: 2, sineOffset: Variant.right, files: files,
                    frames: lastGap.fileFrame..<rightLedger.framesInFiles)
                #expect(afterOutage.bitExact && afterOutage.frames > 40_000, "\(afterOutage)")
                let outageFrames = gaps.dropFirst(5).map(\.frames).reduce(0, +)
                let estimated = Double(outageFrames) / 48_000
                #expect(
                    estimated >= outage - 1 && estimated <= outage + recovery + 1,
                    "ledger \(estimated) s, outage \(outage) s + \(recovery) s")
                print(
                    "multi-source fault=right_sigkill_x5_unplugged_5s delivered=\(delivered) "
                        + "left=\(leftLedger.framesInFiles) gen=\(genLedger.framesInFiles) right=\(rightLedger) "
                        + "outage_s=\(String(format: "%.2f", outage)) recovery_s=\(String(format: "%.2f", recovery))")
            }
        }

        /// SIGHUP with a source added and another removed, then with a third changed: the source left alone
        /// keeps its ffmpeg and its recording stays gapless; the removed one's recording is closed; the added
        /// one records its own microphone; the changed one restarts.
        @Test func aReloadAddsRemovesAndChangesSourcesAndTheUntouchedOneStaysGapless() throws {
            let left = try TestMic.start(deviceName: "mica", sineOffset: Variant.left)
            defer { left.stop() }
            let right = try TestMic.start(deviceName: "micb", sineOffset: Variant.right)
            defer { right.stop() }
            let alsa = try #require(TestMic.environment(for: [left, right])["ALSA_CONFIG_PATH"])

            try DaemonFixture.with(environment: ["ALSA_CONFIG_PATH": alsa]) { dir in
                let leftTable = SourceTable.alsa("left", device: "mica")
                try dir.writeConfig(
                    multiSourceConfig(
                        dir, sources: [leftTable, SourceTable.generator("gen", sineOffset: Variant.generator)],
                        recordings: [("left", "left"), ("gen", "gen")]))
                let daemon = try dir.launch()
                try #require(dir.waitForControl(), "\(daemon.log)")
                #expect(waitForAudio(under: dir.file("left"), bytes: 192_000, timeout: 20), "\(daemon.log)")
                #expect(waitForAudio(under: dir.file("gen"), bytes: 192_000, timeout: 20), "\(daemon.log)")
                let leftPID = try #require(dir.sourceStatus("left")?.ffmpegPID)
                let genPID = try #require(dir.sourceStatus("gen")?.ffmpegPID)
                // An on-demand recording of `gen`, through the API: it goes when its source goes.
                let request =
                    #"{"name":"od","source":"gen","align":"samples","filename":"{seq}.wav","segment_seconds":3600}"#
                let started = RawSocket.request(
                    dir.socket, method: "POST", target: "/v1/recordings", body: Array(request.utf8))
                #expect((200..<300).contains(RawSocket.status(of: started)), "\(started)")
                #expect(dir.recordingStatus("od")?.source == "gen")
                #expect(waitForAudio(under: dir.file("ondemand/od"), bytes: 96_000, timeout: 20), "\(daemon.log)")

                // `gen` removed with its recording, `right` added.
                try dir.writeConfig(
                    multiSourceConfig(
                        dir, sources: [leftTable, SourceTable.alsa("right", device: "micb")],
                        recordings: [("left", "left"), ("right", "right")]))
                daemon.signal(SIGHUP)
                #expect(daemon.waitForLog("event=config.reloaded", timeout: 15), "\(daemon.log)")
                let added = fields(of: daemon.lines(containing: "event=config.reloaded").first ?? "")
                #expect(added["sources.started"] == "right" && added["sources.stopped"] == "gen", "\(added)")
                #expect(added["sources.restarted"] == "", "\(added)")
                #expect(waitForAudio(under: dir.file("right"), bytes: 192_000, timeout: 20), "\(daemon.log)")
                #expect(waitUntil(timeout: 10) { !isAlive(genPID) }, "`gen`'s ffmpeg still runs")
                #expect(waitUntil(timeout: 10) { partialFiles(under: dir.file("gen")).isEmpty }, "`gen` still records")
                #expect(
                    waitUntil(timeout: 10) { partialFiles(under: dir.file("ondemand/od")).isEmpty },
                    "the on-demand recording of `gen` outlived its source")
                let reloaded = try #require(dir.status())
                #expect(reloaded.sources.map(\.name) == ["left", "right"], "\(reloaded.sources)")
                #expect(
                    !reloaded.recordings.contains { ["gen", "od"].contains($0.name) && $0.state != "stopped" },
                    "\(reloaded.recordings)")
                let levels = dir.get("/v1/levels?source=right")
                #expect(levels.status == 200 && levels.body.contains(#""source":"right""#), "\(levels)")
                #expect(reloaded.recordings.first { $0.name == "right" }?.source == "right")
                let rightPID = try #require(dir.sourceStatus("right")?.ffmpegPID)

                // `right` changed: only it restarts.
                try dir.writeConfig(
                    multiSourceConfig(
                        dir,
                        sources: [leftTable, SourceTable.alsa("right", device: "micb", extra: "stall_seconds = 4")],
                        recordings: [("left", "left"), ("right", "right")]))
                daemon.signal(SIGHUP)
                #expect(daemon.waitForLog("event=config.reloaded", count: 2, timeout: 15), "\(daemon.log)")
                let changed = fields(of: daemon.lines(containing: "event=config.reloaded").last ?? "")
                #expect(changed["sources.restarted"] == "right" && changed["sources.started"] == "", "\(changed)")
                #expect(dir.waitForFFmpeg(of: "right", other: rightPID, timeout: 15) != nil, "\(daemon.log)")
                #expect(dir.waitForMoreAudio(in: "right", bytes: 96_000, timeout: 15))
                #expect(dir.waitForMoreAudio(in: "left", bytes: 96_000, timeout: 15))

                let final = try #require(dir.status())
                let leftStatus = final.sources.first { $0.name == "left" }
                #expect(leftStatus?.ffmpegPID == leftPID && leftStatus?.restarts == 0, "`left` was disturbed")
                let leftRecording = final.recordings.first { $0.name == "left" }
                #expect(
                    leftRecording?.gaps == 0 && leftRecording?.droppedFrames == 0,
                    "\(String(describing: leftRecording))")
                #expect(daemon.terminate().status == 0)

                // `left`: one file, no gap, its own pattern bit for bit across both reloads.
                let leftLedger = try LedgerReading(directory: dir.file("left"))
                #expect(leftLedger.files.count == 1 && leftLedger.gaps.isEmpty, "\(leftLedger)")
                let leftReport = try PatternCheck.check(channels: 2, sineOffset: Variant.left, files: leftLedger.files)
                #expect(leftReport.bitExact, "\(leftReport)")
                // `gen`: closed when its source went, its pattern intact to the end.
                let gen = wavFiles(under: dir.file("gen"))
                #expect(gen.count == 1 && sidecarSources(under: dir.file("gen")) == ["gen"])
                let genReport = try PatternCheck.check(channels: 2, sineOffset: Variant.generator, files: gen)
                #expect(genReport.bitExact && genReport.frames >= 48_000, "\(genReport)")
                let onDemand = wavFiles(under: dir.file("ondemand/od"))
                #expect(!onDemand.isEmpty && sidecarSources(under: dir.file("ondemand/od")).allSatisfy { $0 == "gen" })
                let onDemandReport = try PatternCheck.check(
                    channels: 2, sineOffset: Variant.generator, files: onDemand)
                #expect(onDemandReport.bitExact && onDemandReport.frames >= 24_000, "\(onDemandReport)")
                // `right`: its own microphone; the change restarted it once (one gap, at the break).
                let rightLedger = try LedgerReading(directory: dir.file("right"))
                #expect(sidecarSources(under: dir.file("right")).allSatisfy { $0 == "right" })
                let rightReport = try PatternCheck.check(
                    channels: 2, sineOffset: Variant.right, files: rightLedger.files)
                #expect(rightReport.mismatchingFrames == 0, "\(rightReport)")
                #expect(rightReport.discontinuities <= 1, "\(rightReport) \(rightLedger)")
                #expect(partialFiles(under: dir.path).isEmpty)
            }
        }
    }
}
