// Faults the test suite injects into a running daemon (a slow disk), read once from the environment.
import Foundation

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

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> FaultInjection {
        var faults = FaultInjection()
        for spec in (environment["AUDIOCAP_FAULT_WRITER_STALL"] ?? "").split(separator: ",") {
            let parts = spec.split(separator: ":")
            guard parts.count == 3, let after = Double(parts[1]), let seconds = Double(parts[2]) else { continue }
            faults.writerStalls[String(parts[0])] = Stall(afterSeconds: after, seconds: seconds)
        }
        return faults
    }
}
