// ALSA's device list and open check, asked of a short-lived copy of audiocapd instead of the daemon itself.
import CaptureEnvironment
import Foundation
import Synchronization

/// Asks ALSA which capture devices exist, and why one cannot be opened, in a child process:
/// `audiocapd --alsa-probe [--alsa-open DEVICE]`, which prints an ``Answer`` as JSON and exits.
///
/// libasound runs the configuration's hooks on first use, and a hook may load a plugin that stays loaded for
/// the life of the process: with PulseAudio's ALSA plugin installed, its hook loads libpulse and about 25 more
/// libraries, 3.3 MB resident in a daemon that would never use them again. A hook can also block (the
/// PulseAudio one connects to a server); a child that has not answered after ``timeoutSeconds`` is killed and
/// the answer is unknown. Processes that did not set ``executable`` (tests, benchmarks) ask in-process.
public enum ALSAProbe {
    public struct Answer: Codable, Sendable, Equatable {
        /// ALSA's capture devices, in ALSA's order.
        public var devices: [String]
        /// Why the asked device could not be opened; nil when it could, or when none was asked.
        public var openError: String?

        public init(devices: [String], openError: String?) {
            self.devices = devices
            self.openError = openError
        }
    }

    /// How long the child may take.
    public static let timeoutSeconds = 10.0

    private static let executablePath = Mutex<String?>(nil)

    /// The program that answers `--alsa-probe` (audiocapd sets its own, `/proc/self/exe`); nil asks in-process.
    public static var executable: String? {
        get { executablePath.withLock { $0 } }
        set { executablePath.withLock { $0 = newValue } }
    }

    /// ALSA's answer: from a child when ``executable`` is set, else from libasound in this process. nil when
    /// the child failed or timed out. Blocking (up to ``timeoutSeconds``): call off Swift's shared executor.
    public static func ask(opening device: String? = nil) -> Answer? {
        guard let executable else { return answer(opening: device) }
        let argv = [executable, "--alsa-probe"] + (device.map { ["--alsa-open", $0] } ?? [])
        let result = HookCommand.run(argv, timeout: timeoutSeconds, keeping: 1 << 20) { false }
        guard result.succeeded, let json = result.output.split(separator: "\n").last else { return nil }
        return try? JSONDecoder().decode(Answer.self, from: Data(json.utf8))
    }

    /// The answer in this process (what the child runs).
    public static func answer(opening device: String?) -> Answer {
        Answer(devices: ALSADevices.capture().map(\.name), openError: device.flatMap(ALSADevices.openError))
    }

    /// Prints ``answer(opening:)`` as one line of JSON: the child's whole work.
    public static func printAnswer(opening device: String?) {
        let data = (try? JSONEncoder().encode(answer(opening: device))) ?? Data("{\"devices\":[]}".utf8)
        print(String(decoding: data, as: UTF8.self))
    }
}
