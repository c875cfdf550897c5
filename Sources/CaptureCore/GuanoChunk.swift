// The GUANO `guan` chunk (guano-md.org, version 1.0) of a segment file, at a fixed size, with the fields
// that grow while the file is written rewritable in place.

/// Renders a ``SegmentMetadata`` as a GUANO chunk: UTF-8 `Key: value` lines, `GUANO|Version: 1.0` first,
/// padded with spaces (which GUANO readers trim) to ``size`` bytes.
///
/// `Length`, `audiocap|Gaps` and `audiocap|Gap Frames` change while the file grows: their values are
/// padded to ``liveFieldWidth`` characters, so ``updateLength(frames:sampleRate:in:)`` and
/// ``updateGaps(count:frames:in:)`` rewrite them in place without allocating. When the text would not fit (it cannot with the lengths
/// `[station]` allows), the last lines are left out.
public enum GuanoChunk {
    /// The payload: the text and its padding.
    public static let payloadSize = 2048
    /// The whole chunk, its 8-byte header included.
    public static let size = 8 + payloadSize
    /// Characters reserved for each value rewritten in place.
    public static let liveFieldWidth = 24
    /// The fields rewritten in place.
    static let liveKeys = SegmentMetadata.guanoKeysKnownAtClose

    /// The chunk for `metadata`, ``size`` bytes.
    public static func bytes(_ metadata: SegmentMetadata) -> [UInt8] {
        var text: [UInt8] = []
        for (key, value) in metadata.guanoFields {
            var shown = value
            if liveKeys.contains(key), shown.utf8.count < liveFieldWidth {
                shown += String(repeating: " ", count: liveFieldWidth - shown.utf8.count)
            }
            let line = Array("\(key): \(shown)\n".utf8)
            guard text.count + line.count <= payloadSize else { break }
            text += line
        }
        var out = ChunkBytes(id: "guan", payloadSize: payloadSize)
        out.fill(text, pad: UInt8(ascii: " "))
        return out.finish()
    }

    /// Rewrites `Length` in `chunk` (a whole chunk as ``bytes(_:)`` made it) for `frames` frames. Does not
    /// allocate. Left as it is when the field is missing or the value would not fit its width.
    public static func updateLength(frames: Int64, sampleRate: Int, in chunk: UnsafeMutableRawBufferPointer) {
        let micros = UInt64(max(0, frames)) &* 1_000_000 / UInt64(max(1, sampleRate))
        overwrite("\nLength:", in: chunk, value: micros, decimals: 6)
    }

    /// Rewrites `audiocap|Gaps` and `audiocap|Gap Frames` in `chunk`, as ``updateLength(frames:sampleRate:in:)``
    /// does `Length`.
    public static func updateGaps(count: Int, frames: Int64, in chunk: UnsafeMutableRawBufferPointer) {
        overwrite("\naudiocap|Gaps:", in: chunk, value: UInt64(max(0, count)), decimals: 0)
        overwrite("\naudiocap|Gap Frames:", in: chunk, value: UInt64(max(0, frames)), decimals: 0)
    }

    /// The text of a GUANO payload: the bytes up to the padding, as UTF-8.
    public static func text(ofPayload payload: some Collection<UInt8>) -> String {
        String(decoding: payload, as: UTF8.self).trimmingTrailing { $0 == " " || $0 == "\0" }
    }

    /// Writes `value` (with `decimals` of it after a point) after the first `key` in `chunk`, then spaces up
    /// to the line's end.
    private static func overwrite(
        _ key: StaticString, in chunk: UnsafeMutableRawBufferPointer, value: UInt64, decimals: Int
    ) {
        guard let start = find(key, in: chunk) else { return }
        var end = start
        while end < chunk.count && chunk[end] != UInt8(ascii: "\n") { end += 1 }
        guard end < chunk.count else { return }
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        digits = max(digits, decimals + 1)
        let length = 1 + digits + (decimals > 0 ? 1 : 0)
        guard start + length <= end else { return }
        chunk[start] = UInt8(ascii: " ")
        var position = start + length - 1
        var remaining = value
        for index in 0..<digits {
            if decimals > 0 && index == decimals {
                chunk[position] = UInt8(ascii: ".")
                position -= 1
            }
            chunk[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
            position -= 1
        }
        for index in (start + length)..<end { chunk[index] = UInt8(ascii: " ") }
    }

    /// The offset just after the first occurrence of `key` in `chunk`, or nil.
    private static func find(_ key: StaticString, in chunk: UnsafeMutableRawBufferPointer) -> Int? {
        let count = key.utf8CodeUnitCount
        guard chunk.count >= count else { return nil }
        var offset = 8
        while offset + count <= chunk.count {
            var matches = true
            for i in 0..<count where chunk[offset + i] != key.utf8Start[i] {
                matches = false
                break
            }
            if matches { return offset + count }
            offset += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingTrailing(while isTrimmed: (Character) -> Bool) -> String {
        var end = endIndex
        while end > startIndex, isTrimmed(self[index(before: end)]) { end = index(before: end) }
        return String(self[..<end])
    }
}
