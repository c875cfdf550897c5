// Reads the audio bytes of WAV files, and finds the span of a recording that another file's frames occupy.

import Foundation

/// The audio of 16-bit PCM WAV files (RIFF, RF64 or BW64; `.partial` files too), read independently of the
/// daemon's own reader: the `data` chunk's payload to the end of the file, whole frames only.
public enum WAVAudio {
    /// The audio bytes of `path`, whole frames of `channels` 16-bit channels.
    ///
    /// - Throws: `PatternCheckError` when the file cannot be read, has no `data` chunk, or is not 16-bit
    ///   PCM with `channels` channels.
    public static func bytes(of path: String, channels: Int) throws -> Data {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PatternCheckError(path: path, reason: "\(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { raw in
            let audio = try PatternCheck.audioBytes(of: raw, path: path, channels: channels)
            let whole = audio.count - audio.count % (2 * channels)
            return Data(UnsafeRawBufferPointer(rebasing: audio.prefix(whole)))
        }
    }

    /// The audio of `paths`, joined in order.
    public static func joined(_ paths: [String], channels: Int) throws -> Data {
        var result = Data()
        for path in paths { result += try bytes(of: path, channels: channels) }
        return result
    }

    /// The samples of mono audio bytes.
    public static func monoSamples(_ bytes: Data) -> [Int16] {
        bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 2)).map { Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)) }
        }
    }

    /// Where `part` differs from `whole` read from frame `offset` on, for `part`'s length: nil when the
    /// frames are the same, else a sentence naming the first differing frame of `part` (or that `whole` is
    /// too short).
    public static func difference(_ part: Data, in whole: Data, atFrame offset: Int, frameBytes: Int) -> String? {
        let start = offset * frameBytes
        guard offset >= 0, start + part.count <= whole.count else {
            return "the reference holds \(whole.count / frameBytes) frames; frames \(offset)..<"
                + "\(offset + part.count / frameBytes) asked for"
        }
        let slice = whole[(whole.startIndex + start)..<(whole.startIndex + start + part.count)]
        if slice.elementsEqual(part) { return nil }
        var index = 0
        for (a, b) in zip(part, slice) {
            if a != b { break }
            index += 1
        }
        return "frame \(index / frameBytes) of \(part.count / frameBytes) differs from reference frame "
            + "\(offset + index / frameBytes)"
    }
}
