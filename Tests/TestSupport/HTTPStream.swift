// A network audio source for tests: the test pattern streamed over HTTP on 127.0.0.1 by ffmpeg
// (Tests/Fixtures/httpstream), which can be taken down and brought back like a camera or a receiver.

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A failure to serve a test stream: what failed, and what the script said.
public struct HTTPStreamError: Error, CustomStringConvertible {
    public var reason: String
    /// The script's stderr, and the tail of the server's log when there is one.
    public var output: String

    public init(reason: String, output: String = "") {
        self.reason = reason
        self.output = output
    }

    public var description: String { output.isEmpty ? reason : "\(reason)\n\(output)" }
}

/// An HTTP audio stream at `http://127.0.0.1:PORT/stream.wav`: the test pattern (see `TestPattern`) as WAV,
/// looped and paced in real time by `ffmpeg -re … -f wav -listen 1`, which serves one client per run; a
/// loop starts the next run when a client leaves, so clients may reconnect at any time. Each connection
/// begins at frame 0 of the pattern.
///
/// `takeDown()` stops serving (connections are refused) until `bringUp()`, on the same port: an outage.
/// ffmpeg's HTTP server never asks for credentials, so a client's `user:password@` is accepted and
/// ignored (ffmpeg's client sends credentials only when asked for them).
public final class HTTPStream: Sendable {
    /// Where the fixture scripts live: `Tests/Fixtures/httpstream` of this source tree.
    public static let fixtureDirectory: String =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/httpstream").path

    public let port: Int
    /// The path part of the URL, `stream.wav`.
    public let path = "stream.wav"
    public let channels: Int
    /// The variant of the test pattern it plays (see `TestPattern`).
    public let sineOffset: Int
    /// Holds the pattern file and the server's log (`server.log`: one `httpstream: run N` line per run).
    public let stateDirectory: String

    private let directory: TemporaryDirectory
    private let raw: String
    private let removed = Mutex(false)

    private init(port: Int, channels: Int, sineOffset: Int, directory: TemporaryDirectory, raw: String) {
        self.port = port
        self.channels = channels
        self.sineOffset = sineOffset
        self.directory = directory
        self.stateDirectory = directory.path
        self.raw = raw
    }

    /// Starts serving and returns once the port listens.
    ///
    /// - Parameters:
    ///   - port: the TCP port on 127.0.0.1; nil for a free one.
    ///   - channels: 1 or 2.
    ///   - sineOffset: the variant of the test pattern to stream (see `TestPattern`).
    /// - Throws: `HTTPStreamError` when ffmpeg is missing or does not listen.
    public static func start(port: Int? = nil, channels: Int = 2, sineOffset: Int = 0) throws -> HTTPStream {
        guard channels == 1 || channels == 2 else {
            throw HTTPStreamError(reason: "a test stream has 1 or 2 channels, not \(channels)")
        }
        if let unavailableReason { throw HTTPStreamError(reason: unavailableReason) }
        let directory = try TemporaryDirectory(prefix: "httpstream", in: "/tmp")
        do {
            let raw = directory.file("pattern.raw")
            try TestPattern.data(channels: channels, sineOffset: sineOffset).write(to: URL(fileURLWithPath: raw))
            let stream = HTTPStream(
                port: try port ?? freeTCPPort(), channels: channels, sineOffset: sineOffset, directory: directory,
                raw: raw)
            try stream.bringUp()
            return stream
        } catch {
            directory.remove()
            throw error
        }
    }

    /// The stream's URL, with `user:password@` when given.
    public func url(user: String? = nil, password: String? = nil) -> String {
        var userInfo = ""
        if let user { userInfo = user + (password.map { ":" + $0 } ?? "") + "@" }
        return "http://\(userInfo)127.0.0.1:\(port)/\(path)"
    }

    /// Serves again (after `takeDown()`) on the same port; returns once the port listens.
    ///
    /// - Throws: `HTTPStreamError` when the server does not listen (the port taken meanwhile, say).
    public func bringUp() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["HTTPSTREAM_CHANNELS"] = String(channels)
        let result = try ProcessRunner.run(
            "/bin/sh", [Self.fixtureDirectory + "/start.sh", stateDirectory, String(port), raw, path],
            environment: environment, timeout: 30)
        guard result.status == 0 else {
            throw HTTPStreamError(
                reason: "the test stream did not start (start.sh exited with \(result.status))",
                output: String(decoding: result.stderr, as: UTF8.self) + "server.log ends with:\n"
                    + log.suffix(2000))
        }
    }

    /// Stops serving: the client being served is cut off and new connections are refused. Returns once
    /// the port is closed. Idempotent.
    public func takeDown() {
        FixtureScript.stop(
            "HTTPStream", script: Self.fixtureDirectory + "/stop.sh", stateDirectory: stateDirectory, timeout: 30)
    }

    /// Stops serving and removes the state directory. Idempotent; also called when the object goes away.
    public func stop() {
        let first = removed.withLock { removed in
            defer { removed = true }
            return !removed
        }
        guard first else { return }
        takeDown()
        directory.remove()
    }

    deinit { stop() }

    /// Whether a server listens on 127.0.0.1:`port` now (read from /proc/net/tcp, so no client is taken
    /// from it). Between two clients the port is closed for about 0.1 s while the next run starts.
    public var isListening: Bool {
        let local = String(format: "0100007F:%04X", port)
        let table = (try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[1] == local && fields[3] == "0A"
        }
    }

    /// Waits until a server listens on the port (`isListening`); false after `timeout` seconds.
    @discardableResult
    public func waitUntilListening(timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !isListening {
            guard Date() < deadline else { return false }
            usleep(20_000)
        }
        return true
    }

    /// The server's log so far.
    public var log: String {
        (try? String(contentsOfFile: stateDirectory + "/server.log", encoding: .utf8)) ?? ""
    }

    /// Clients served so far, counting the one being served (ffmpeg logs its output once a client came).
    public var clientsServed: Int {
        log.split(separator: "\n").filter { $0.hasPrefix("Output #0") }.count
    }

    /// Whether `start` can work here: ffmpeg and sh are installed.
    public static var isAvailable: Bool { unavailableReason == nil }

    /// Why `start` cannot work here; nil when it can.
    public static let unavailableReason: String? = {
        let missing = ["sh", "ffmpeg"].filter { ProcessRunner.which($0) == nil }
        if !FileManager.default.fileExists(atPath: fixtureDirectory + "/start.sh") {
            return "the test stream's scripts are not in \(fixtureDirectory)"
        }
        return missing.isEmpty
            ? nil : "the test stream needs \(missing.joined(separator: ", ")) (apt-get install ffmpeg)"
    }()
}

/// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice of an ephemeral port).
///
/// - Throws: `HTTPStreamError` when no socket can be bound.
public func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HTTPStreamError(reason: "socket() failed with errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw HTTPStreamError(reason: "bind() to 127.0.0.1:0 failed with errno \(errno)") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw HTTPStreamError(reason: "getsockname() failed with errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
