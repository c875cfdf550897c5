// Resolves a stable device name (a /dev/snd/by-id or by-path link) to the ALSA card it points at now.
import Foundation

/// ALSA card numbers change across reboots and re-plugs; `/dev/snd/by-id/…` and `/dev/snd/by-path/…`
/// links and card ids (`hw:CARD=USB`) do not. A link is resolved, at every ffmpeg start, to
/// `plughw:CARD=<id>` of the card it points at; any other name is passed to ALSA as it is (ALSA
/// resolves `CARD=` names itself).
public struct DeviceResolver: Sendable {
    public let procRoot: String

    public init(procRoot: String = "/proc/asound") {
        self.procRoot = procRoot
    }

    public enum Resolution: Sendable, Equatable {
        /// Use this ALSA name.
        case device(String)
        /// The link names no card that exists now (unplugged): the message says which.
        case missing(String)
    }

    public func resolve(_ device: String) -> Resolution {
        // Only paths (such as /dev/snd/by-id/…) need resolving; ALSA names go through as they are.
        guard device.hasPrefix("/") else { return .device(device) }
        let target = URL(fileURLWithPath: device).resolvingSymlinksInPath().lastPathComponent
        guard FileManager.default.fileExists(atPath: device) || target != (device as NSString).lastPathComponent else {
            return .missing("\(device) does not exist: is the device plugged in?")
        }
        // controlC1, pcmC1D0c, … name card 1.
        guard let range = target.range(of: #"C(\d+)"#, options: .regularExpression),
            let card = Int(target[range].dropFirst())
        else {
            return .missing("\(device) points at \(target), which is not an ALSA card device")
        }
        let idPath = "\(procRoot)/card\(card)/id"
        guard
            let id = try? String(contentsOfFile: idPath, encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines),
            !id.isEmpty
        else {
            return .device("plughw:\(card)")
        }
        return .device("plughw:CARD=\(id)")
    }
}
