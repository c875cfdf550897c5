// The Broadcast Wave `bext` chunk (EBU Tech 3285 version 2) of a segment file, at a fixed size.

/// Renders a ``SegmentMetadata`` as a `bext` chunk: always ``size`` bytes, so the header that holds it keeps
/// its length.
///
/// ```
/// Description           256  ASCII  SegmentMetadata.summary
/// Originator             32  ASCII  "audiocap"
/// OriginatorReference    32  ASCII  SegmentMetadata.reference
/// OriginationDate        10  ASCII  first frame, UTC, yyyy-mm-dd
/// OriginationTime         8  ASCII  first frame, UTC, hh:mm:ss
/// TimeReference           8  u64    samples since midnight UTC of the first frame
/// Version                 2  u16    2
/// UMID                   64         zeros (none)
/// Loudness fields     5 × 2  i16    0x7FFF (not measured)
/// Reserved              180         zeros
/// CodingHistory         256  ASCII  EBU R98 line, NUL-padded
/// ```
///
/// Text that is not ASCII is written with `?` in place of each non-ASCII byte; text longer than its field
/// is cut.
public enum BextChunk {
    /// Bytes reserved for `CodingHistory`.
    public static let codingHistoryCapacity = 256
    /// The payload: the 602 bytes of fixed fields and the coding history.
    public static let payloadSize = 602 + codingHistoryCapacity
    /// The whole chunk, its 8-byte header included.
    public static let size = 8 + payloadSize
    /// The value of a loudness field that was not measured.
    public static let loudnessNotMeasured: UInt16 = 0x7FFF

    /// The chunk for `metadata`, ``size`` bytes.
    public static func bytes(_ metadata: SegmentMetadata) -> [UInt8] {
        var out = ChunkBytes(id: "bext", payloadSize: payloadSize)
        out.ascii(metadata.summary, field: 256)
        out.ascii("audiocap", field: 32)
        out.ascii(metadata.reference, field: 32)
        out.ascii(metadata.originationDate, field: 10)
        out.ascii(metadata.originationTime, field: 8)
        out.u64(metadata.timeReference)
        out.u16(2)
        out.zeros(64)
        for _ in 0..<5 { out.u16(loudnessNotMeasured) }
        out.zeros(180)
        out.ascii(metadata.codingHistory, field: codingHistoryCapacity)
        return out.finish()
    }
}

/// Builds one RIFF chunk of a fixed size, little-endian.
struct ChunkBytes {
    private(set) var bytes: [UInt8]
    private let size: Int

    init(id: StaticString, payloadSize: Int) {
        precondition(id.utf8CodeUnitCount == 4 && payloadSize % 2 == 0)
        size = 8 + payloadSize
        bytes = []
        bytes.reserveCapacity(size)
        for i in 0..<4 { bytes.append(id.utf8Start[i]) }
        u32(UInt32(payloadSize))
    }

    mutating func u16(_ value: UInt16) { append(value) }
    mutating func u32(_ value: UInt32) { append(value) }
    mutating func u64(_ value: UInt64) { append(value) }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func zeros(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }

    /// `text` as ASCII (`?` for other bytes), cut or NUL-padded to `field` bytes.
    mutating func ascii(_ text: String, field: Int) {
        let ascii = text.utf8.prefix(field).map { $0 < 0x80 ? $0 : UInt8(ascii: "?") }
        bytes.append(contentsOf: ascii)
        zeros(field - ascii.count)
    }

    /// `data` as it is, then `pad` up to the chunk's end.
    mutating func fill(_ data: some Collection<UInt8>, pad: UInt8) {
        bytes.append(contentsOf: data.prefix(size - bytes.count))
        bytes.append(contentsOf: repeatElement(pad, count: size - bytes.count))
    }

    func finish() -> [UInt8] {
        precondition(bytes.count == size, "chunk is \(bytes.count) bytes, expected \(size)")
        return bytes
    }
}
