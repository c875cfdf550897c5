// The sound problems of a levels reading in words, for `audiocap status` and `audiocap levels`.

import CaptureProtocol

/// Describes the sound problems in progress: `flatline on ch 2; DC offset on ch 1, 2`.
enum SoundHealthText {
    /// The problems of `reading` as one phrase, by kind in the daemon's order with the channels (from 1)
    /// of each; nil when there are none.
    static func problems(_ reading: LevelsResponse) -> String? {
        guard !reading.problems.isEmpty else { return nil }
        var kinds: [String] = []
        var channels: [String: [Int]] = [:]
        for problem in reading.problems {
            if channels[problem.kind] == nil { kinds.append(problem.kind) }
            channels[problem.kind, default: []].append(problem.channel)
        }
        return kinds.map { kind in
            let list = (channels[kind] ?? []).map(String.init).joined(separator: ", ")
            return "\(name(kind)) on ch \(list)"
        }.joined(separator: "; ")
    }

    /// The words for a problem kind of the control API (an unknown kind as it is).
    static func name(_ kind: String) -> String {
        switch kind {
        case "flatline": "flatline (stuck samples)"
        case "dc_offset": "DC offset"
        case "clipping": "frequent clipping"
        default: kind
        }
    }
}
