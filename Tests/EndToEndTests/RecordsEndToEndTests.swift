// True records across restarts: the daemon killed and stopped again and again, reloaded, an on-demand
// recording stopped and started; the restart gaps, the numbering and the record read with the daemon stopped.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    @Suite(
        .serialized,
        .enabled(
            if: TestMic.isAvailable, "the ALSA test microphone needs pulseaudio, pactl, pacat and libasound2-plugins"))
    struct RecordsEndToEndTests {
        static let template = "{name}-%Y%m%dT%H%M%SZ-{seq}.wav"

        func config(_ dir: DaemonFixture, segmentSeconds: Int) -> String {
            """
            [source]
            device = "testmic"
            [queue]
            seconds = 30
            [control]
            socket = "\(dir.socket)"
            [storage]
            root = "\(dir.path)/ondemand"
            state = "\(dir.path)/state"

            [[recording]]
            name = "r"
            directory = "\(dir.path)/r"
            segment_seconds = \(segmentSeconds)
            align = "samples"
            filename = "\(Self.template)"

            """
        }

        /// Waits until a file being written that is not in `besides` holds 9600 bytes (0.05 s of audio).
        func waitForNewAudio(under directory: String, besides: Set<String>) -> Bool {
            waitUntil(timeout: 20) {
                partialFiles(under: directory).contains { path in
                    !besides.contains(path)
                        && ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) >= 9_600
                }
            }
        }

        /// A file's sidecar: start time, frames, gaps.
        struct Sidecar {
            var path: String
            var start: Double
            var frames: Int
            var gapsKnown: Bool
            var restartGap: (time: Double, frames: Int)?
            var otherGapFrames: Int
            var sequence: Int

            init(_ path: String) throws {
                let data = try #require(FileManager.default.contents(atPath: path + ".json"), "no sidecar for \(path)")
                let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                let segment = try #require(json["segment"] as? [String: Any])
                self.path = path
                start = try #require((segment["start_time"] as? NSNumber)?.doubleValue)
                frames = try #require(ffprobeFrames(path))
                gapsKnown = json["gaps_known"] as? Bool != false
                otherGapFrames = 0
                for gap in segment["gaps"] as? [[String: Any]] ?? [] {
                    let frames = (gap["frames"] as? NSNumber)?.intValue ?? 0
                    if gap["kind"] as? String == "daemon_restart" {
                        restartGap = ((gap["time"] as? NSNumber)?.doubleValue ?? 0, frames)
                    } else {
                        otherGapFrames += frames
                    }
                }
                let name = (path as NSString).lastPathComponent
                let digits = name.dropLast(4).split(separator: "-").last.map(String.init) ?? ""
                sequence = try #require(Int(digits), "no {seq} in \(name)")
            }
        }

        @Test func killedStoppedReloadedAndRestartedTheRecordStaysTrue() throws {
            try DaemonFixture.with(mic: true) { dir in
                let configPath = dir.configPath
                try dir.writeConfig(config(dir, segmentSeconds: 2))
                let began = Date()
                // Per cycle: seconds of audio before the daemon goes, whether it is killed (else stopped
                // cleanly), seconds it stays down. Kills land anywhere in a 2 s file; three come within 10 s
                // of a clean stop.
                let cycles: [(run: Double, kill: Bool, down: Double)] = [
                    (1.3, false, 0.6), (2.2, true, 1.1), (0.4, true, 0.5), (3.1, false, 1.4), (1.7, true, 0.8),
                    (0.9, false, 0.5), (2.6, true, 1.7), (1.1, true, 0.6), (3.3, false, 0.9), (1.5, true, 0.5),
                ]
                var outages: [(from: Date, to: Date)] = []
                var cleanFlags: [String] = []
                var downSince: Date?
                for (index, cycle) in cycles.enumerated() {
                    let before = Set(partialFiles(under: dir.path + "/r"))
                    let daemon = try dir.launch()
                    #expect(waitForNewAudio(under: dir.path + "/r", besides: before), "cycle \(index): \(daemon.log)")
                    if let downSince { outages.append((downSince, Date())) }
                    if let started = daemon.lines(containing: "event=daemon.started").first {
                        cleanFlags.append(fields(of: started)["previous.clean_stop"] ?? "none")
                    }
                    if index == 4 {
                        // A reload that restarts the recording (a new writer), and an on-demand recording
                        // stopped and started again with a time in its names.
                        try dir.writeConfig(config(dir, segmentSeconds: 3))
                        daemon.signal(SIGHUP)
                        #expect(daemon.waitForLog("event=config.reloaded", timeout: 10), "\(daemon.log)")
                        for _ in 0..<2 {
                            let start = try dir.cli(["start", "od", "--filename", Self.template, "--segment", "1s"])
                            #expect(start.status == 0, "\(start.err)")
                            usleep(1_300_000)
                            let stop = try dir.cli(["stop", "od"])
                            #expect(stop.status == 0, "\(stop.err)")
                        }
                    }
                    usleep(useconds_t(cycle.run * 1_000_000))
                    downSince = Date()
                    if cycle.kill {
                        daemon.kill9()
                    } else {
                        #expect(daemon.terminate().status == 0, "\(daemon.log)")
                    }
                    usleep(useconds_t(cycle.down * 1_000_000))
                }
                print(
                    "records-figures cycles=\(cycles.count) seconds=\(String(format: "%.1f", Date().timeIntervalSince(began)))"
                )

                // After a kill that followed a clean stop, the start says the stop was not clean.
                #expect(cleanFlags.count == cycles.count)
                for index in 1..<cycles.count where cleanFlags.count == cycles.count {
                    #expect(cleanFlags[index] == String(!cycles[index - 1].kill), "cycle \(index): \(cleanFlags)")
                }

                // The last run was killed: a daemon that only starts and stops cleanly repairs its file.
                let last = try dir.launch()
                #expect(last.waitForLog("event=segment.repaired", timeout: 15), "\(last.log)")
                #expect(waitForNewAudio(under: dir.path + "/r", besides: []))
                outages.append((downSince ?? Date(), Date()))
                #expect(last.terminate().status == 0)

                let files = try wavFiles(under: dir.path + "/r").map(Sidecar.init).sorted { $0.start < $1.start }
                let restarts = files.filter { $0.restartGap != nil }
                #expect(restarts.count == cycles.count, "\(restarts.map(\.path))")
                // Each daemon_restart gap is the outage: from the audio on disk when it went to the new file's
                // first frame, within a chunk (0.1 s) plus sync_seconds (1 s) of what the test saw.
                for (gapFile, outage) in zip(restarts, outages) {
                    let gap = Double(gapFile.restartGap!.frames) / 48_000
                    let seen = gapFile.start - outage.from.timeIntervalSince1970
                    #expect(abs(gap - seen) <= 1.1, "gap \(gap) s, outage \(seen) s in \(gapFile.path)")
                    print(
                        "records-figures restart_gap_s=\(String(format: "%.3f", gap)) outage_s=\(String(format: "%.3f", seen))"
                    )
                }
                // Frames in the files (repaired ones too) plus the gaps cover the wall time, file to file.
                let first = try #require(files.first)
                let end = try #require(files.last)
                let span = end.start + Double(end.frames) / 48_000 - first.start
                let covered =
                    Double(files.reduce(0) { $0 + $1.frames + ($1.restartGap?.frames ?? 0) + $1.otherGapFrames })
                    / 48_000
                #expect(abs(covered - span) <= 1.1, "files and gaps \(covered) s, wall time \(span) s")
                print(
                    "records-figures files=\(files.count) covered_s=\(String(format: "%.3f", covered)) span_s=\(String(format: "%.3f", span))"
                )
                // No {seq} used twice, and the numbers rise with time.
                let sequences = files.map(\.sequence)
                #expect(Set(sequences).count == sequences.count, "\(files.map(\.path))")
                #expect(sequences == sequences.sorted(), "\(files.map(\.path))")
                let onDemand = try wavFiles(under: dir.path + "/ondemand/od").map(Sidecar.init).map(\.sequence)
                #expect(onDemand.count >= 2 && Set(onDemand).count == onDemand.count, "\(onDemand)")

                // The daemon is stopped: the record on disk is still readable.
                let segments = try dir.cli(["segments", "r", "--config", configPath, "--json"])
                #expect(segments.status == 0, "\(segments.err)")
                let listing = try JSONSerialization.jsonObject(with: Data(segments.out.utf8)) as? [String: Any]
                let listed = (listing?["segments"] as? [[String: Any]])?.compactMap { $0["path"] as? String } ?? []
                #expect(Set(listed) == Set(files.map(\.path)), "\(segments.out)")
                #expect(
                    (listing?["segments"] as? [[String: Any]])?.contains { $0["gaps_known"] as? Bool == false } == true)
                // Without --config it reads the default configuration file: never "daemon unavailable".
                let stopped = try dir.cli(["segments", "r"])
                #expect(stopped.status != 69, "\(stopped.err)")
                let odListing = try dir.cli(["segments", "od", "--config", configPath, "--json"])
                let odFiles =
                    (try? JSONSerialization.jsonObject(with: Data(odListing.out.utf8)) as? [String: Any])?["segments"]
                    as? [Any]
                #expect(odListing.status == 0 && (odFiles?.count ?? 0) == onDemand.count, "\(odListing)")
                let logs = try dir.cli(["logs", "--config", configPath, "--json"])
                #expect(logs.status == 0, "\(logs.err)")
                let kinds = logs.out.split(separator: "\n").compactMap { line in
                    (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["kind"] as? String
                }
                #expect(kinds.filter { $0 == "daemon.started" }.count == cycles.count + 1, "\(kinds)")
                #expect(kinds.contains("segment.repaired"))
                let text = try dir.cli(["logs", "--config", configPath, "--level", "warning"])
                #expect(text.status == 0 && text.out.contains("segment.repaired"), "\(text)")
                let recordings = try dir.cli(["recordings", "--config", configPath])
                #expect(recordings.status == 0 && recordings.out.contains("DISK"), "\(recordings)")
            }
        }
    }
}
