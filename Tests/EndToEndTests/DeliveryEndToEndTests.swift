// Delivery end to end with the built audiocapd: closed files and sidecars uploaded through rclone to a real
// S3 server and a real SFTP server, a conflicting object left untouched, and a hook killed at its timeout.
import CaptureCore
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    @Suite(.serialized)
    struct DeliveryEndToEndTests {
        @Test(
            "two recordings upload every closed file and sidecar once to one bucket, keys per the template, SHA-256 verified",
            .enabled(if: S3Server.shouldRun, Comment(rawValue: S3Server.unavailableReason ?? "")))
        func twoRecordingsUploadToOneBucket() throws {
            let s3 = try S3Server.start()
            defer { s3.stop() }
            try DaemonFixture.with(environment: deliveryEnvironment) { dir in
                let rcloneConfig = dir.file("rclone.conf")
                try Rclone.writeConfig([s3.rcloneSection(name: "s3test")], to: rcloneConfig)
                let names = ["north", "south"]
                try dir.writeConfig(
                    deliveryConfig(
                        dir,
                        destinations: [
                            destinationTOML(
                                name: "s3", remote: s3.remote(name: "s3test", prefix: "fleet"),
                                rcloneConfig: rcloneConfig)
                        ],
                        recordings: names.map {
                            DeliveryRecording(name: $0, directory: dir.file($0), extra: "upload = [\"s3\"]")
                        }))
                let daemon = try dir.launch()

                // Three files of each recording closed; each arrives with its sidecar under the template's key.
                #expect(
                    waitUntil(timeout: 40) { names.allSatisfy { closedFiles(under: dir.file($0)).count >= 3 } },
                    "\(daemon.log)")
                var expected: [String: String] = [:]  // object key → local file
                for name in names {
                    for file in closedFiles(under: dir.file(name)) {
                        expected["fleet/" + file.defaultKey(recording: name)] = file.path
                        expected["fleet/" + file.defaultKey(recording: name, sidecar: true)] = file.sidecar
                    }
                }
                let arrived = waitUntil(timeout: 60) {
                    Set(expected.keys).isSubset(of: Set((try? s3.objects())?.map(\.key) ?? []))
                }
                #expect(
                    arrived,
                    "missing: \(Set(expected.keys).subtracting((try? s3.objects())?.map(\.key) ?? []).sorted())\n\(daemon.log)"
                )

                // The daemon's own account: nothing of these pending, the station named.
                let uploads = try dir.cli(["uploads", "--json"])
                #expect(uploads.status == 0, "\(uploads.err)")
                let status = try ControlAPI.decoder().decode(UploadsResponse.self, from: Data(uploads.out.utf8))
                #expect(status.station == deliveryStation)
                #expect(status.destinations.map(\.name) == ["s3"])
                #expect((status.destinations.first?.deliveredFiles ?? 0) >= 6, "\(uploads.out)")
                #expect(status.destinations.first?.lastSuccessTime != nil, "\(uploads.out)")
                #expect(status.destinations.first?.conflicts == 0, "\(uploads.out)")
                #expect(daemon.terminate().status == 0, "\(daemon.log)")

                // Every object is one of the recordings' files, put once, with the local file's bytes.
                var allLocal: [String: String] = [:]
                for name in names {
                    for file in closedFiles(under: dir.file(name)) {
                        allLocal["fleet/" + file.defaultKey(recording: name)] = file.path
                        allLocal["fleet/" + file.defaultKey(recording: name, sidecar: true)] = file.sidecar
                    }
                }
                let puts = try s3.putCounts()
                #expect(puts.keys.filter { allLocal[$0] == nil }.isEmpty, "objects that are no file of ours: \(puts)")
                #expect(puts.filter { $0.value != 1 }.isEmpty, "keys put more than once: \(puts)")
                for (key, path) in expected.sorted(by: { $0.key < $1.key }) {
                    let remote = try s3.get(key)
                    #expect(sha256(remote) == (try sha256sum(path)), "\(key) differs from \(path)")
                }

                // One upload.done per audio file, naming the destination, its key and its SHA-256; the sidecar
                // records the audio's SHA-256 and MD5.
                let done = daemon.events("upload.done")
                for name in names {
                    for file in closedFiles(under: dir.file(name))
                    where expected["fleet/" + file.defaultKey(recording: name)] != nil {
                        let events = done.filter { $0["segment.path"] == file.path && $0["destination"] == "s3" }
                        #expect(events.count == 1, "upload.done for \(file): \(events)")
                        let hash = try sha256sum(file.path)
                        #expect(events.first?["upload.sha256"] == hash, "\(events)")
                        #expect(
                            events.first?["upload.key"]?.hasSuffix(file.defaultKey(recording: name)) == true,
                            "\(events)")
                        let sidecar = try #require(
                            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file.sidecar)))
                                as? [String: Any])
                        #expect(sidecar["sha256"] as? String == hash, "\(file.sidecar)")
                        #expect(sidecar["md5"] as? String == (try md5sum(file.path)), "\(file.sidecar)")
                    }
                }
                #expect(daemon.events("upload.failed").isEmpty, "\(daemon.events("upload.failed"))")
            }
        }

        @Test(
            "a recording uploads its closed files and sidecars over SFTP, verified, each file once",
            .enabled(if: SFTPServer.shouldRun, Comment(rawValue: SFTPServer.unavailableReason ?? "")))
        func uploadsOverSFTP() throws {
            let sftp = try SFTPServer.start()
            defer { sftp.remove() }
            try DaemonFixture.with(environment: deliveryEnvironment) { dir in
                let rcloneConfig = dir.file("rclone.conf")
                try Rclone.writeConfig([sftp.rcloneSection(name: "sftptest")], to: rcloneConfig)
                try dir.writeConfig(
                    deliveryConfig(
                        dir,
                        destinations: [
                            destinationTOML(
                                name: "box", remote: sftp.remote(name: "sftptest", prefix: "fleet"),
                                rcloneConfig: rcloneConfig)
                        ],
                        recordings: [
                            DeliveryRecording(name: "r", directory: dir.file("r"), extra: "upload = [\"box\"]")
                        ]))
                let daemon = try dir.launch()
                #expect(waitUntil(timeout: 30) { closedFiles(under: dir.file("r")).count >= 2 }, "\(daemon.log)")
                var expected: [String: String] = [:]  // path under the files directory → local file
                for file in closedFiles(under: dir.file("r")) {
                    expected["fleet/" + file.defaultKey(recording: "r")] = file.path
                    expected["fleet/" + file.defaultKey(recording: "r", sidecar: true)] = file.sidecar
                }
                #expect(
                    waitUntil(timeout: 60) {
                        Set(expected.keys).isSubset(of: Set(sftp.files()))
                            && daemon.events("upload.done").count >= expected.count / 2
                    }, "have \(sftp.files())\n\(daemon.log)")
                #expect(daemon.terminate().status == 0, "\(daemon.log)")

                // Only our files arrived (no temporary names left behind), each with the local bytes.
                var allLocal = Set<String>()
                for file in closedFiles(under: dir.file("r")) {
                    allLocal.insert("fleet/" + file.defaultKey(recording: "r"))
                    allLocal.insert("fleet/" + file.defaultKey(recording: "r", sidecar: true))
                }
                #expect(Set(sftp.files()).isSubset(of: allLocal), "\(sftp.files())")
                for (key, path) in expected {
                    #expect(
                        (try sha256sum(sftp.filesDirectory + "/" + key)) == (try sha256sum(path)), "\(key) vs \(path)")
                }
                let done = daemon.events("upload.done")
                for path in Set(expected.values) where path.hasSuffix(".wav") {
                    let events = done.filter { $0["segment.path"] == path }
                    #expect(events.count == 1, "upload.done for \(path): \(events)")
                    #expect(events.first?["destination"] == "box")
                    #expect(events.first?["upload.sha256"] == (try sha256sum(path)))
                }
            }
        }

        @Test(
            "an object already at a key with other content is a reported conflict and stays untouched",
            .enabled(if: S3Server.shouldRun, Comment(rawValue: S3Server.unavailableReason ?? "")))
        func aConflictingObjectIsReportedAndNotOverwritten() throws {
            let s3 = try S3Server.start()
            defer { s3.stop() }
            // A template without the date, so the key of the second file is known before it is recorded.
            let conflictKey = "fleet/\(deliveryStation)/r/000002.wav"
            let theirs = Data("an object some other station wrote here".utf8)
            let theirETag = try s3.put(conflictKey, theirs)
            try DaemonFixture.with(environment: deliveryEnvironment) { dir in
                let rcloneConfig = dir.file("rclone.conf")
                try Rclone.writeConfig([s3.rcloneSection(name: "s3test")], to: rcloneConfig)
                try dir.writeConfig(
                    deliveryConfig(
                        dir,
                        destinations: [
                            destinationTOML(
                                name: "s3", remote: s3.remote(name: "s3test", prefix: "fleet"),
                                rcloneConfig: rcloneConfig, path: "{station}/{recording}/{file}")
                        ],
                        recordings: [DeliveryRecording(name: "r", directory: dir.file("r"), extra: "upload = [\"s3\"]")]
                    ))
                let daemon = try dir.launch()
                let local2 = dir.file("r/000002.wav")
                // The files on either side arrive; the second is refused as a conflict.
                #expect(
                    waitUntil(timeout: 60) {
                        let keys = Set((try? s3.objects())?.map(\.key) ?? [])
                        return keys.contains("fleet/\(deliveryStation)/r/000001.wav")
                            && keys.contains("fleet/\(deliveryStation)/r/000003.wav")
                            && daemon.events("upload.failed").contains { $0["segment.path"] == local2 }
                    }, "\(daemon.log)")
                let failed = daemon.events("upload.failed").filter { $0["segment.path"] == local2 }
                // Named as a conflict (upload.conflict), the error naming the key.
                #expect(
                    failed.contains {
                        $0["upload.conflict"] == "true"
                            && ($0["error"] ?? "").contains("\(deliveryStation)/r/000002.wav")
                    }, "\(failed)")
                #expect(!daemon.events("upload.done").contains { $0["segment.path"] == local2 })
                let uploads = try dir.cli(["uploads", "--json"])
                let status = try ControlAPI.decoder().decode(UploadsResponse.self, from: Data(uploads.out.utf8))
                #expect(status.destinations.first?.conflicts ?? 0 >= 1, "\(uploads.out)")
                #expect(daemon.terminate().status == 0, "\(daemon.log)")

                // Untouched: one version, the same bytes and ETag as before the daemon ran.
                #expect(try s3.putCounts()[conflictKey] == 1)
                #expect(try s3.get(conflictKey) == theirs)
                #expect(try s3.objects().first { $0.key == conflictKey }?.etag == theirETag)
                // And the local file stays.
                #expect(FileManager.default.fileExists(atPath: local2))
            }
        }

        @Test(
            "an on_close hook that outlives hook_timeout_seconds is killed and reported; the recording stays bit-exact"
        )
        func aHangingHookIsKilledAndTheRecordingStaysBitExact() throws {
            try DaemonFixture.with(launch: false) { dir in
                let hookLog = dir.file("hook.log")
                try dir.writeConfig(
                    deliveryConfig(
                        dir, destinations: [],
                        recordings: [
                            DeliveryRecording(
                                name: "r", directory: dir.file("r"),
                                extra: """
                                    on_close = ["/bin/sh", "-c", "echo \\"$1\\" >> \(hookLog); exec sleep 30", "hook", "{path}"]
                                    hook_timeout_seconds = 1
                                    hook_concurrency = 1
                                    """)
                        ]))
                let daemon = try dir.launch()
                // Each file's hook hangs and is killed after 1 s: at least three reported.
                var mostHooksAlive = 0
                let reported = waitUntil(timeout: 30) {
                    mostHooksAlive = max(mostHooksAlive, descendants(of: daemon.pid, named: "sleep").count)
                    return daemon.events("hook.failed").count >= 3
                }
                #expect(reported, "\(daemon.log)")
                #expect(mostHooksAlive <= 1, "hook_concurrency = 1, but \(mostHooksAlive) hooks ran at once")
                let failed = daemon.events("hook.failed")
                #expect(failed.allSatisfy { $0["hook.timed_out"] == "true" }, "\(failed)")
                #expect(daemon.terminate().status == 0, "\(daemon.log)")

                // The hooks ran with the closed files' paths, one at a time.
                let ran = ((try? String(contentsOfFile: hookLog, encoding: .utf8)) ?? "").split(separator: "\n")
                let files = wavFiles(under: dir.file("r"))
                #expect(ran.count >= 3)
                #expect(ran.allSatisfy { files.contains(String($0)) }, "\(ran)")
                // The capture never waited for a hook: every frame in the files, the pattern unbroken, no gap.
                let ledger = try LedgerReading(directory: dir.file("r"))
                #expect(ledger.gaps.isEmpty, "\(ledger)")
                ledger.checkInvariant(delivered: try framesDelivered(daemon))
                let report = try PatternCheck.check(channels: 2, files: files)
                #expect(report.bitExact, "\(report)")
                #expect(report.discontinuities == 0, "\(report)")
            }
        }
    }
}

/// The processes below `pid` (children, grandchildren, …) whose command name is `name`, from /proc.
func descendants(of pid: Int32, named name: String) -> [Int32] {
    var parent: [Int32: Int32] = [:]
    var command: [Int32: String] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let child = Int32(entry),
            let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { continue }
        command[child] = String(stat[stat.index(after: open)..<close])
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let ppid = Int32(fields[1]) { parent[child] = ppid }
    }
    return command.compactMap { child, comm in
        guard comm == name else { return nil }
        var ancestor = parent[child]
        while let current = ancestor, current > 1 {
            if current == pid { return child }
            ancestor = parent[current]
        }
        return nil
    }
}
