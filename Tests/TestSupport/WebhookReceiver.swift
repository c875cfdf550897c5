// A webhook endpoint for tests: Tests/Fixtures/webhook-receiver/receiver.py on a free loopback port, which
// records every POST and can be told to fail posts or to go down and come back.

import Foundation
import Synchronization

/// A failure of the test receiver: what failed, and what it said.
public struct WebhookReceiverError: Error, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// One POST the receiver got.
public struct ReceivedPost: Sendable, Decodable, Equatable {
    public var path: String
    /// Header names in lower case.
    public var headers: [String: String]
    /// The body as text (UTF-8).
    public var body: String
    /// What the receiver answered: 200, or 500 while told to fail.
    public var status: Int
}

/// `http://127.0.0.1:PORT/hook`: answers every POST with 200 (or 500 while failing on purpose) and keeps
/// it. Driven through the script's stdin, one command and one answer line at a time; ends with its
/// object (`stop()`), and by itself when the test process goes away (its stdin closes).
public final class WebhookReceiver: Sendable {
    /// Where the script lives: `Tests/Fixtures/webhook-receiver` of this source tree.
    public static let fixtureDirectory: String =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/webhook-receiver").path

    public let port: Int
    // `Process` and `FileHandle` are not Sendable; they are touched only inside `channel`'s lock (and
    // `stop()`, which takes it too), so one thread at a time uses them.
    private nonisolated(unsafe) let process: Process
    private nonisolated(unsafe) let input: FileHandle
    private nonisolated(unsafe) let output: FileHandle
    /// What was read from the script's stdout and not yet consumed; its lock also serialises commands.
    private let channel = Mutex(Data())

    /// The URL to post to (`/hook`, or `path`).
    public func url(path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Starts the receiver and returns once it listens.
    ///
    /// - Throws: `WebhookReceiverError` when python3 cannot run it or it does not say `ready`.
    public init() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.fixtureDirectory + "/receiver.py", "0"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw WebhookReceiverError(reason: "cannot start receiver.py with python3: \(error)")
        }
        self.process = process
        input = stdin.fileHandleForWriting
        output = stdout.fileHandleForReading
        var buffer = Data()
        let line = Self.readLine(output, &buffer)
        channel.withLock { $0 = buffer }
        guard let line, line.hasPrefix("ready "), let port = Int(line.dropFirst(6)) else {
            process.terminate()
            throw WebhookReceiverError(reason: "receiver.py did not say `ready PORT` (it said \(line ?? "nothing"))")
        }
        self.port = port
    }

    deinit { stop() }

    /// The next `count` posts are answered with 500.
    public func failNext(_ count: Int) throws { try expectOK(command("fail \(count)")) }

    /// Stops listening: connections are refused until `comeBack()`.
    public func goDown() throws { try expectOK(command("down")) }

    /// Listens again on the same port.
    public func comeBack() throws { try expectOK(command("up")) }

    /// Every post so far, oldest first.
    public func received() throws -> [ReceivedPost] {
        let line = try command("received")
        do {
            return try JSONDecoder().decode([ReceivedPost].self, from: Data(line.utf8))
        } catch {
            throw WebhookReceiverError(reason: "receiver.py sent an unreadable list of posts: \(error): \(line)")
        }
    }

    /// Ends the receiver. Idempotent.
    public func stop() {
        channel.withLock { _ in
            guard process.isRunning else { return }
            try? input.close()
            process.waitUntilExit()
        }
    }

    private func expectOK(_ answer: String) throws {
        guard answer == "ok" else { throw WebhookReceiverError(reason: "receiver.py answered \(answer)") }
    }

    /// Sends one command line and returns the answer line. Blocks the calling thread briefly.
    private func command(_ line: String) throws -> String {
        try channel.withLock { buffer in
            guard process.isRunning else { throw WebhookReceiverError(reason: "receiver.py is not running") }
            try input.write(contentsOf: Data((line + "\n").utf8))
            guard let answer = Self.readLine(output, &buffer) else {
                throw WebhookReceiverError(reason: "receiver.py ended without answering `\(line)`")
            }
            return answer
        }
    }

    private static func readLine(_ handle: FileHandle, _ buffer: inout Data) -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer = Data(buffer[(newline + 1)...])
                return line
            }
            let more = handle.availableData
            if more.isEmpty { return nil }
            buffer.append(more)
        }
    }
}
