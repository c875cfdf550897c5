// Faults the test suite injects into a running daemon (a slow disk), read once from the environment.
import CaptureCore
import Foundation
import Logging

/// Test-only faults. The end-to-end tests set them in the daemon's environment to reproduce what cannot
/// be produced on demand from outside, such as a disk that stops answering for a while. Nothing is
/// injected unless the variable is set.
///
/// - `AUDIOCAP_FAULT_WRITER_STALL=NAME:AFTER:SECONDS`: the writer of recording NAME stops for SECONDS
///   once, after it has received AFTER seconds of audio (as a write to a stalled disk would).
public struct FaultInjection: Sendable, Equatable {
    public struct Stall: Sendable, Equatable {
        public var afterSeconds: Double
        public var seconds: Double
    }

    public var writerStalls: [String: Stall] = [:]

    public init(writerStalls: [String: Stall] = [:]) {
        self.writerStalls = writerStalls
    }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        -> FaultInjection
    {
        var faults = FaultInjection()
        for spec in (environment["AUDIOCAP_FAULT_WRITER_STALL"] ?? "").split(separator: ",") {
            let parts = spec.split(separator: ":")
            guard parts.count == 3, let after = Double(parts[1]), let seconds = Double(parts[2]) else { continue }
            faults.writerStalls[String(parts[0])] = Stall(afterSeconds: after, seconds: seconds)
        }
        return faults
    }
}

/// A consumer that hands every chunk to `wrapped`, except that once, after `stall.afterSeconds` of audio,
/// it first sleeps `stall.seconds` on the consumer's thread, as a write to a stalled disk would block it.
/// Only built when ``FaultInjection`` asks for it.
final class StallingConsumer: ChunkConsumer {
    private let wrapped: any ChunkConsumer
    private var stall: FaultInjection.Stall?
    private let stallAfterFrames: Int64
    private var framesReceived: Int64 = 0
    private let logger: Logger

    init(wrapping wrapped: any ChunkConsumer, stall: FaultInjection.Stall, format: AudioFormat, logger: Logger) {
        self.wrapped = wrapped
        self.stall = stall
        self.stallAfterFrames = format.frames(seconds: stall.afterSeconds)
        self.logger = logger
    }

    func consume(_ chunk: ChunkBuffer) {
        if let stall {
            framesReceived += Int64(chunk.frameCount)
            if framesReceived >= stallAfterFrames {
                self.stall = nil
                logger.warning("fault injection: this writer stalls", metadata: ["stall_seconds": "\(stall.seconds)"])
                Thread.sleep(forTimeInterval: min(3600, max(0, stall.seconds)))
            }
        }
        wrapped.consume(chunk)
    }

    func finish() { wrapped.finish() }
}
