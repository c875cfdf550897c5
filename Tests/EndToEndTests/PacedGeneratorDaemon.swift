// A daemon recording ffmpeg's paced pattern generator with its control socket on, for tests of the API itself.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// audiocapd capturing `patternGenerator` in real time (`-re`) into one continuous recording, `main`
/// (`DIR/main/{seq}.wav`, one file an hour, cut on samples), with its control socket at `socket`.
struct PacedGeneratorDaemon {
    let dir: TemporaryDirectory
    let socket: String
    let daemon: DaemonProcess

    /// Starts the daemon and waits until its socket answers and audio reaches the recording.
    init(extra: String = "") throws {
        // Under /tmp: a Unix socket path has at most 107 bytes.
        dir = try TemporaryDirectory(prefix: "audiocap-api", in: "/tmp")
        socket = dir.file("control.sock")
        try writeConfig(
            """
            [source]
            input_format = "lavfi"
            device = '\(patternGenerator(seconds: 3600))'
            input_options = ["-re"]
            [levels]
            log_interval_seconds = 0
            [control]
            socket = "\(socket)"
            [storage]
            root = "\(dir.path)/ondemand"
            state = "\(dir.path)/state"
            \(extra)
            [[recording]]
            name = "main"
            directory = "\(dir.path)/main"
            segment_seconds = 3600
            align = "samples"
            filename = "{seq}.wav"
            """, to: dir.file("a.toml"))
        daemon = try DaemonProcess(config: dir.file("a.toml"), directory: dir.path)
        try #require(daemon.waitForLog("control API listening"), "\(daemon.log)")
        try #require(
            waitForAudio(under: dir.path + "/main", bytes: 19_200), "no audio reached the recording: \(daemon.log)")
    }

    /// `GET /v1/status` on a connection of its own, or nil when it does not answer 200.
    func status(timeout: Double = 5) -> StatusResponse? {
        let reply = RawSocket.request(socket, method: "GET", target: "/v1/status", timeout: timeout)
        guard RawSocket.status(of: reply) == 200 else { return nil }
        return try? ControlAPI.decoder().decode(StatusResponse.self, from: Data(RawSocket.body(of: reply).utf8))
    }

    /// Descriptors the daemon holds now (`/proc/PID/fd`).
    var descriptorCount: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.pid)/fd").count) ?? -1
    }

    /// The descriptor count once it has not changed for `steady` seconds, or nil after `timeout`.
    func steadyDescriptorCount(steady: Double = 1, timeout: Double = 20) -> Int? {
        var count = descriptorCount
        var since = Date()
        let settled = waitUntil(timeout: timeout) {
            let now = descriptorCount
            if now != count {
                count = now
                since = Date()
            }
            return Date().timeIntervalSince(since) >= steady
        }
        return settled ? count : nil
    }

    /// Checks that the daemon is alive and answers, that `main` has no gap and lost nothing, then stops the
    /// daemon and checks the recording bit for bit against the pattern. With `stoppedThroughTheAPI`, `main`
    /// may have been stopped by a `DELETE` (a fuzzer's): then its files are checked as far as they go.
    func expectAliveAndGapless(stoppedThroughTheAPI: Bool = false, sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        #expect(daemon.process.isRunning, "the daemon died: \(daemon.log.suffix(2000))", sourceLocation: sourceLocation)
        let reply = self.status()
        let status = try #require(reply, "GET /v1/status does not answer", sourceLocation: sourceLocation)
        #expect(status.droppedFrames == 0, sourceLocation: sourceLocation)
        if let main = status.recordings.first(where: { $0.name == "main" }) {
            #expect(main.gaps == 0 && main.droppedFrames == 0, "\(main)", sourceLocation: sourceLocation)
        } else {
            #expect(stoppedThroughTheAPI, "the recording `main` is gone", sourceLocation: sourceLocation)
            let events = RawSocket.request(socket, method: "GET", target: "/v1/events?recording=main&limit=100000")
            #expect(
                events.contains("\"recording.stopped\""), "`main` ended without being stopped",
                sourceLocation: sourceLocation)
            print("the recording `main` was stopped through the API; its files are checked as far as they go")
        }
        #expect(status.source.restarts == 0, "ffmpeg restarted: \(status.source)", sourceLocation: sourceLocation)
        #expect(daemon.terminate().status == 0, sourceLocation: sourceLocation)
        let files = wavFiles(under: dir.path + "/main")
        guard status.recordings.contains(where: { $0.name == "main" }) else {
            // Stopped through the API, and maybe started again and stopped again: each run of the recording
            // is one file (an hour long at most), and the files of two runs have the stop between them.
            for file in files {
                let report = try PatternCheck.check(channels: 2, files: [file])
                #expect(report.bitExact, "\(file): \(report)", sourceLocation: sourceLocation)
            }
            return
        }
        let report = try PatternCheck.check(channels: 2, files: files)
        #expect(report.bitExact, "\(report)", sourceLocation: sourceLocation)
    }

    func remove() {
        if daemon.process.isRunning { daemon.kill9() }
        dir.remove()
    }
}

extension RawSocket {
    /// Reads until the bytes read contain `marker`, the peer closes, or `timeout` seconds pass.
    static func read(_ fd: Int32, until marker: String, timeout: Double) -> String {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 16384)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var tv = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            if n > 0 {
                data += buffer[..<n]
                if String(decoding: data, as: UTF8.self).contains(marker) { break }
            }
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Seconds until the peer closes the connection (reading and discarding whatever it sends), or nil
    /// when it is still open after `timeout`.
    static func secondsUntilClosed(_ fd: Int32, timeout: Double) -> Double? {
        let start = Date()
        var buffer = [UInt8](repeating: 0, count: 16384)
        while Date().timeIntervalSince(start) < timeout {
            var tv = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return Date().timeIntervalSince(start)
            }
        }
        return nil
    }
}

extension RawSocket {
    /// Connects to 127.0.0.1:`port` over TCP; returns the fd or -1.
    static func connectTCP(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    /// `GET target` over TCP with `Connection: close`; returns the whole reply.
    static func requestTCP(port: Int, target: String, timeout: Double = 5) -> String {
        let fd = connectTCP(port: port)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        guard send(fd, Array("GET \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)) else {
            return ""
        }
        return readAll(fd, timeout: timeout)
    }
}
