// Tests of the delivery fixtures: the S3 and SFTP test servers take a file from real rclone and give back its
// size and MD5, S3 counts PUTs and pauses, SFTP goes down and comes back.
import CaptureCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `count` random bytes.
private func randomBytes(_ count: Int) -> Data {
    var generator = SystemRandomNumberGenerator()
    return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
}

extension EndToEnd {
    @Suite(.serialized)
    struct DeliveryFixtureTests {
        @Test(
            "the S3 server takes a file from rclone and lists its size and MD5; each PUT is one version",
            .enabled(if: S3Server.shouldRun, Comment(rawValue: S3Server.unavailableReason ?? "")))
        func s3RoundTrip() throws {
            let s3 = try S3Server.start(bucket: "fixture-test")
            defer { s3.stop() }
            let directory = try TemporaryDirectory(in: "/tmp")
            let config = directory.file("rclone.conf")
            try Rclone.writeConfig([s3.rcloneSection(name: "s3test")], to: config)
            let local = directory.file("a.bin")
            let bytes = randomBytes(300_001)
            try bytes.write(to: URL(fileURLWithPath: local))

            try Rclone.copyto(local, s3.remote(name: "s3test", prefix: "st/r/a.bin"), config: config)
            let listed = try Rclone.files(s3.remote(name: "s3test"), config: config)
            #expect(listed.map(\.path) == ["st/r/a.bin"])
            #expect(listed.first?.size == 300_001)
            #expect(listed.first?.md5 == (try md5sum(local)))

            // The server's own view: one version, the same MD5 as ETag, and the same bytes back.
            let objects = try s3.objects()
            #expect(objects.map(\.key) == ["st/r/a.bin"])
            #expect(objects.first?.etag == (try md5sum(local)))
            #expect(try s3.get("st/r/a.bin") == bytes)
            #expect(try Rclone.read(s3.remote(name: "s3test", prefix: "st/r/a.bin"), config: config) == bytes)

            // Another PUT of the key is another version; a PUT from the test is seen by rclone.
            try s3.put("st/r/a.bin", Data("other".utf8))
            #expect(try s3.putCounts() == ["st/r/a.bin": 2])
            #expect(
                try Rclone.read(s3.remote(name: "s3test", prefix: "st/r/a.bin"), config: config) == Data("other".utf8))
        }

        @Test(
            "a paused S3 server does not answer rclone until it is resumed, and keeps its objects",
            .enabled(if: S3Server.shouldRun, Comment(rawValue: S3Server.unavailableReason ?? "")))
        func s3PauseAndResume() throws {
            let s3 = try S3Server.start()
            defer { s3.stop() }
            let directory = try TemporaryDirectory(in: "/tmp")
            let config = directory.file("rclone.conf")
            try Rclone.writeConfig([s3.rcloneSection(name: "s3test")], to: config)
            try s3.put("before", Data("kept".utf8))

            s3.pause()
            #expect(s3.isPaused)
            let local = directory.file("b.bin")
            try Data("during".utf8).write(to: URL(fileURLWithPath: local))
            let start = Date()
            #expect(throws: (any Error).self) {
                try Rclone.run(
                    [
                        "copyto", "--contimeout", "2s", "--timeout", "2s", "--retries", "1", "--low-level-retries", "1",
                        local, s3.remote(name: "s3test", prefix: "during"),
                    ], config: config, timeout: 30)
            }
            #expect(Date().timeIntervalSince(start) >= 2, "rclone gave up only at its timeout: the server hung")

            s3.resume()
            try Rclone.copyto(local, s3.remote(name: "s3test", prefix: "during"), config: config)
            #expect(try s3.objects().map(\.key) == ["before", "during"])
            #expect(try s3.get("before") == Data("kept".utf8))
        }

        @Test(
            "the SFTP server takes a file from rclone and lists its size and MD5 (md5sum over ssh)",
            .enabled(if: SFTPServer.shouldRun, Comment(rawValue: SFTPServer.unavailableReason ?? "")))
        func sftpRoundTrip() throws {
            let sftp = try SFTPServer.start()
            defer { sftp.remove() }
            let directory = try TemporaryDirectory(in: "/tmp")
            let config = directory.file("rclone.conf")
            try Rclone.writeConfig([sftp.rcloneSection(name: "sftptest")], to: config)
            let local = directory.file("a.bin")
            let bytes = randomBytes(200_003)
            try bytes.write(to: URL(fileURLWithPath: local))

            try Rclone.copyto(local, sftp.remote(name: "sftptest", prefix: "st/r/a.bin"), config: config)
            let listed = try Rclone.files(sftp.remote(name: "sftptest"), config: config)
            #expect(listed.map(\.path) == ["st/r/a.bin"])
            #expect(listed.first?.size == 200_003)
            #expect(listed.first?.md5 == (try md5sum(local)))
            #expect(sftp.files() == ["st/r/a.bin"])
            #expect(FileManager.default.contents(atPath: sftp.filesDirectory + "/st/r/a.bin") == bytes)
        }

        @Test(
            "a stopped SFTP server refuses rclone; restarted on the same port it takes the file",
            .enabled(if: SFTPServer.shouldRun, Comment(rawValue: SFTPServer.unavailableReason ?? "")))
        func sftpStopAndRestart() throws {
            let sftp = try SFTPServer.start()
            defer { sftp.remove() }
            let directory = try TemporaryDirectory(in: "/tmp")
            let config = directory.file("rclone.conf")
            try Rclone.writeConfig([sftp.rcloneSection(name: "sftptest")], to: config)
            let local = directory.file("c.bin")
            try Data("while down".utf8).write(to: URL(fileURLWithPath: local))

            sftp.stop()
            #expect(!sftp.isRunning)
            #expect(throws: DeliveryFixtureError.self) {
                try Rclone.run(
                    [
                        "copyto", "--retries", "1", "--low-level-retries", "1", local,
                        sftp.remote(name: "sftptest", prefix: "c.bin"),
                    ], config: config, timeout: 30)
            }
            #expect(sftp.files().isEmpty)

            try sftp.restart()
            try Rclone.copyto(local, sftp.remote(name: "sftptest", prefix: "c.bin"), config: config)
            #expect(sftp.files() == ["c.bin"])
        }
    }
}
