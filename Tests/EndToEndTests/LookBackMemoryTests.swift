// End to end: a 300 s look-back buffer holds 300 s, says so in status, and costs about its size in memory.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

/// Audio the daemons capture: a sine from ffmpeg's generator, stereo 48 kHz s16, read 30 times faster than
/// real time so five minutes fill in ten seconds while the reader keeps up.
private let readRate = 30

/// The look-back asked for, and the memory it takes: 48,000 frames × 2 channels × 2 bytes × 300 s.
private let lookBackSeconds = 300.0
private let bufferBytes = 48_000 * 2 * 2 * 300

/// How far the daemon's growth in resident memory over a daemon without look-back may be from the buffer's
/// size: both daemons run the same capture side by side, so what differs is the buffer, plus allocator
/// and page noise.
private let rssTolerance = 0.20

extension EndToEnd {
    @Suite(.serialized) struct LookBackMemoryTests {
        @Test func a300SecondLookBackHoldsItAndCostsAboutItsSize() throws {
            try DaemonFixture.with { dir in
                func config(lookBack: Double, socket: String, state: String) -> String {
                    """
                    [source]
                    input_format = "lavfi"
                    device = "sine=frequency=1000:sample_rate=48000:duration=3600"
                    input_options = ["-readrate", "\(readRate)"]
                    channels = 2
                    look_back_seconds = \(lookBack)
                    restart_delay_seconds = 60
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = "\(socket)"
                    [storage]
                    root = "\(dir.root)"
                    state = "\(state)"
                    """
                }
                let plainSocket = dir.file("run/plain.sock")
                try dir.writeConfig(
                    config(lookBack: 0, socket: plainSocket, state: dir.file("plainstate")), to: dir.file("plain.toml"))
                try dir.writeConfig(config(lookBack: lookBackSeconds, socket: dir.socket, state: dir.state))
                let plain = try dir.launch(config: dir.file("plain.toml"))
                let daemon = try dir.launch()
                func status(_ socket: String) -> StatusResponse? {
                    let reply = RawSocket.request(socket, method: "GET", target: ControlAPI.status)
                    guard RawSocket.status(of: reply) == 200 else { return nil }
                    return try? ControlAPI.decoder().decode(
                        StatusResponse.self, from: Data(RawSocket.body(of: reply).utf8))
                }

                // Filled: 300 s held.
                var lookBack: LookBackStatus?
                let filled = waitUntil(timeout: 90) {
                    lookBack = status(dir.socket)?.sources.first?.lookBack
                    return (lookBack?.heldSeconds ?? 0) >= lookBackSeconds - 0.1
                }
                try #require(filled, "not filled: \(String(describing: lookBack)) \(daemon.log.suffix(2000))")
                // A minute of audio more: it holds no more than it should, and memory stays where it was.
                let capturedAtFill = status(dir.socket)?.sources.first?.framesCaptured ?? 0
                let filledRSS = try #require(residentBytes(of: daemon.pid))
                #expect(
                    waitUntil(timeout: 30) {
                        (status(dir.socket)?.sources.first?.framesCaptured ?? 0) >= capturedAtFill + 60 * 48_000
                    })
                let held = try #require(status(dir.socket)?.sources.first?.lookBack)
                let withBuffer = try #require(residentBytes(of: daemon.pid))
                let without = try #require(residentBytes(of: plain.pid))
                let plainStatus = try #require(status(plainSocket), "the daemon without look-back does not answer")
                let plainSource = try #require(plainStatus.sources.first)

                #expect(held.seconds == lookBackSeconds, "\(held)")
                #expect(
                    held.heldSeconds >= lookBackSeconds - 0.1 && held.heldSeconds <= lookBackSeconds + 0.1, "\(held)")
                #expect(abs(Int(held.bytes) - bufferBytes) <= 2 * 19_200, "\(held)")
                #expect(held.oldest != nil)
                #expect(plainSource.lookBack?.heldSeconds == 0 && plainSource.lookBack?.bytes == 0, "\(plainSource)")
                #expect(plainSource.framesCaptured >= Int64(lookBackSeconds) * 48_000, "\(plainSource)")
                #expect(status(dir.socket)?.droppedFrames == 0 && plainStatus.droppedFrames == 0)

                let growth = withBuffer - without
                #expect(
                    abs(Double(growth) - Double(bufferBytes)) <= rssTolerance * Double(bufferBytes),
                    "resident \(withBuffer) bytes with the buffer, \(without) without: \(growth) for a \(bufferBytes)-byte buffer"
                )
                #expect(
                    withBuffer - filledRSS < 4_000_000, "grew from \(filledRSS) to \(withBuffer) bytes after filling")
                print(
                    "memory-figures look_back_s=300 status_bytes=\(held.bytes) rss_with=\(withBuffer) rss_without=\(without) "
                        + "rss_growth=\(growth) growth_vs_buffer=\(format3(Double(growth) / Double(bufferBytes))) "
                        + "mb_per_minute=\(format3(Double(growth) / 5 / 1_000_000)) rss_after_fill_delta=\(withBuffer - filledRSS)"
                )
            }
        }
    }
}
