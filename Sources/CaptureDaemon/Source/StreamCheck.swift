// Whether the stream ffmpeg copies is the configured format: decided from its input dump, awaited by the reader.
import CaptureCore
import Dispatch
import Synchronization

/// The verdict on one stream-copy run of ffmpeg (``FFmpegCommand/copiesStream``).
///
/// The stderr thread feeds it ffmpeg's lines (``observe(_:)``); the input dump comes before ffmpeg writes any
/// audio. The reader thread waits for the verdict (``verdict(timeout:)``) before it publishes the run's first
/// chunk, so no audio of another rate or width is ever recorded as the configured one.
final class StreamCheck: Sendable {
    enum Verdict: Sendable, Equatable {
        /// The device delivers exactly the configured format.
        case matches
        /// It does not (what differs), or ffmpeg never said (why).
        case refused(String)
    }

    private struct State {
        var verdict: Verdict?
        var inInput = false
    }
    private let state = Mutex(State())
    private let decided = DispatchSemaphore(value: 0)
    private let format: AudioFormat

    init(format: AudioFormat) {
        self.format = format
    }

    /// One line of ffmpeg's stderr. The first audio stream of `Input #0` decides.
    func observe(_ line: String) {
        let decision = state.withLock { state -> Verdict? in
            guard state.verdict == nil else { return nil }
            if line.contains("Input #0") {
                state.inInput = true
                return nil
            }
            if line.contains("Output #0") {
                state.verdict = .refused("ffmpeg described no audio stream for its input")
                return state.verdict
            }
            guard state.inInput, let info = FFmpegStreamInfo(line: line) else { return nil }
            let mismatch = info.mismatch(with: format, codec: format.sampleFormat.ffmpegCodec)
            state.verdict = mismatch.map { .refused("the device delivers \($0)") } ?? .matches
            return state.verdict
        }
        if decision != nil { decided.signal() }
    }

    /// ffmpeg closed its stderr: a run that never described its input is not trusted.
    func finish() {
        let decided = state.withLock { state -> Bool in
            guard state.verdict == nil else { return false }
            state.verdict = .refused("ffmpeg ended before it described its input")
            return true
        }
        if decided { self.decided.signal() }
    }

    /// The verdict, waiting up to `timeout` seconds for it (the reader thread only).
    func verdict(timeout: Double) -> Verdict {
        if let verdict = state.withLock({ $0.verdict }) { return verdict }
        _ = decided.wait(timeout: .now() + timeout)
        return state.withLock { state in
            if let verdict = state.verdict { return verdict }
            state.verdict = .refused("ffmpeg did not describe its input within \(Int(timeout)) s")
            return state.verdict!
        }
    }
}
