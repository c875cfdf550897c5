// The daemon's log records reach journald natively: one datagram of fields each, parsed back here.
import Foundation
import Logging
import TestSupport
import Testing

@testable import CaptureDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket standing in for journald's `/run/systemd/journal/socket`.
final class JournalListener {
    let directory: TemporaryDirectory
    let path: String
    let fd: Int32

    init() throws {
        directory = try TemporaryDirectory(prefix: "audiocap-journal", in: "/tmp")
        path = directory.file("socket")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0, "bind \(path): \(String(cString: strerror(errno)))")
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        directory.remove()
    }

    /// The next datagram, waiting up to 2 s; nil when none came.
    func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return n > 0 ? Array(buffer[..<n]) : nil
    }
}

/// journald's parser for the native protocol, strictly: the fields in order, and which used the binary form.
func parseJournalDatagram(_ bytes: [UInt8]) throws -> [(name: String, value: String, binary: Bool)] {
    var fields: [(name: String, value: String, binary: Bool)] = []
    var index = 0
    while index < bytes.count {
        let lineEnd = try #require(bytes[index...].firstIndex(of: UInt8(ascii: "\n")), "unterminated field")
        if let equals = bytes[index..<lineEnd].firstIndex(of: UInt8(ascii: "=")) {
            fields.append(
                (
                    String(decoding: bytes[index..<equals], as: UTF8.self),
                    String(decoding: bytes[(equals + 1)..<lineEnd], as: UTF8.self), false
                ))
            index = lineEnd + 1
        } else {
            let name = String(decoding: bytes[index..<lineEnd], as: UTF8.self)
            let sizeStart = lineEnd + 1
            try #require(sizeStart + 8 <= bytes.count, "binary field \(name) without its length")
            var size: UInt64 = 0
            for (shift, byte) in bytes[sizeStart..<(sizeStart + 8)].enumerated() { size |= UInt64(byte) << (8 * shift) }
            let valueStart = sizeStart + 8
            let valueEnd = valueStart + Int(size)
            try #require(
                valueEnd < bytes.count && bytes[valueEnd] == UInt8(ascii: "\n"),
                "binary field \(name) not closed by a newline")
            fields.append((name, String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self), true))
            index = valueEnd + 1
        }
    }
    return fields
}

@Suite struct JournalLoggingTests {
    @Test func recordBecomesOneDatagramWithItsFields() throws {
        let listener = try JournalListener()
        let writer = try #require(JournalWriter(socketPath: listener.path))
        let logger = Logger(label: "audiocapd.test") {
            DaemonLogHandler(label: $0, level: .info, output: .journal(writer))
        }
        logger.warning(
            "ffmpeg exited",
            metadata: [
                "recording.name": "birds",
                "ffmpeg.stderr_tail": "line one\nline two",
                "drop.frames": "4800",
                "message": "collides with MESSAGE",
            ])
        let datagram = try #require(listener.receive())
        let fields = try parseJournalDatagram(datagram)
        #expect(
            fields.map(\.name) == [
                "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "AUDIOCAP_LOGGER", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
                "DROP_FRAMES", "FFMPEG_STDERR_TAIL", "AUDIOCAP_MESSAGE", "RECORDING_NAME",
            ])
        let values = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.value) })
        #expect(values["MESSAGE"] == "ffmpeg exited")
        #expect(values["PRIORITY"] == "4")
        #expect(values["SYSLOG_IDENTIFIER"] == "audiocapd")
        #expect(values["AUDIOCAP_LOGGER"] == "audiocapd.test")
        #expect(values["CODE_FILE"]?.hasSuffix("JournalLoggingTests.swift") == true)
        #expect(values["RECORDING_NAME"] == "birds")
        #expect(values["DROP_FRAMES"] == "4800")
        #expect(values["AUDIOCAP_MESSAGE"] == "collides with MESSAGE")
        #expect(values["FFMPEG_STDERR_TAIL"] == "line one\nline two")
        // Only the multi-line value uses the binary form; its bytes are exactly name, LF, le64 length, value, LF.
        #expect(fields.filter(\.binary).map(\.name) == ["FFMPEG_STDERR_TAIL"])
        let binary: [UInt8] =
            Array("FFMPEG_STDERR_TAIL\n".utf8) + [17, 0, 0, 0, 0, 0, 0, 0] + Array("line one\nline two\n".utf8)
        #expect(datagram.firstRange(of: binary) != nil)
        #expect(datagram.firstRange(of: Array("RECORDING_NAME=birds\n".utf8)) != nil)
    }

    @Test func eventsArriveWithTheirFields() throws {
        let listener = try JournalListener()
        let writer = try #require(JournalWriter(socketPath: listener.path))
        let logger = Logger(label: "audiocapd") { DaemonLogHandler(label: $0, level: .debug, output: .journal(writer)) }
        let events = EventLog(logger: logger)
        // Through a source's view, as a recording's writer emits: the source is a field of its own.
        events.forSource("roof").emit(
            .info, "segment.closed", "segment closed", recording: "birds",
            ["segment.path": .string("/var/lib/audiocap/birds/a.wav")])
        let fields = try parseJournalDatagram(try #require(listener.receive()))
        let values = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.value) })
        #expect(values["MESSAGE"] == "segment closed")
        #expect(values["PRIORITY"] == "6")
        #expect(values["EVENT"] == "segment.closed")
        #expect(values["RECORDING_NAME"] == "birds")
        #expect(values["SOURCE_NAME"] == "roof")
        #expect(values["SEGMENT_PATH"] == "/var/lib/audiocap/birds/a.wav")
    }

    @Test func levelsBelowTheThresholdSendNothing() throws {
        let listener = try JournalListener()
        let writer = try #require(JournalWriter(socketPath: listener.path))
        let logger = Logger(label: "audiocapd") {
            DaemonLogHandler(label: $0, level: .notice, output: .journal(writer))
        }
        logger.info("not sent")
        logger.error("sent")
        let fields = try parseJournalDatagram(try #require(listener.receive()))
        #expect(fields.first?.value == "sent")
        #expect(fields.first { $0.name == "PRIORITY" }?.value == "3")
    }

    @Test func fieldNames() {
        #expect(JournalWriter.fieldName("recording.name") == "RECORDING_NAME")
        #expect(JournalWriter.fieldName("segment.gap_frames") == "SEGMENT_GAP_FRAMES")
        #expect(JournalWriter.fieldName("peer-uid") == "PEER_UID")
        #expect(JournalWriter.fieldName("_hidden") == "AUDIOCAP__HIDDEN")
        #expect(JournalWriter.fieldName("1st") == "AUDIOCAP_1ST")
        #expect(JournalWriter.fieldName("") == "AUDIOCAP_")
        #expect(JournalWriter.fieldName("priority") == "AUDIOCAP_PRIORITY")
        #expect(JournalWriter.fieldName("größe") == "GR____E")
        #expect(JournalWriter.fieldName(String(repeating: "a", count: 100)).count == 64)
    }

    @Test func noJournaldMeansNoWriter() throws {
        let directory = try TemporaryDirectory(prefix: "audiocap-journal", in: "/tmp")
        defer { directory.remove() }
        #expect(JournalWriter(socketPath: directory.file("missing")) == nil)
        // A writer whose journald went away reports the failure, so the handler can fall back to stderr.
        let listener = try JournalListener()
        let writer = try #require(JournalWriter(socketPath: listener.path))
        unlink(listener.path)
        #expect(!writer.send([("MESSAGE", "lost")]))
    }

    @Test func journalStreamMustMatchTheDescriptor() throws {
        let directory = try TemporaryDirectory(prefix: "audiocap-journal", in: "/tmp")
        defer { directory.remove() }
        let path = directory.file("stream")
        FileManager.default.createFile(atPath: path, contents: nil)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        #expect(JournalWriter.isJournalStream("\(info.st_dev):\(info.st_ino)", fd: fd))
        #expect(!JournalWriter.isJournalStream("\(info.st_dev):\(info.st_ino + 1)", fd: fd))
        #expect(!JournalWriter.isJournalStream("garbage", fd: fd))
        #expect(!JournalWriter.isJournalStream(nil, fd: fd))
        #expect(DaemonLogHandler.Output.detect(environment: [:]).isConsole)
    }
}

extension DaemonLogHandler.Output {
    var isConsole: Bool {
        if case .console = self { return true }
        return false
    }
}
