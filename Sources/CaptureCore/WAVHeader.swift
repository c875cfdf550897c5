// WAV/RF64 header bytes for a capture file, and a reader for RIFF/RF64 headers. Pure: no I/O.

/// The fixed-size header of a WAV file written by audiocap.
///
/// The layout is chosen up front so that the header can be rewritten in place at any time while the
/// file grows, always with the same length:
///
/// ```
/// RIFF <riff size> WAVE                        12 bytes   (RF64 0xFFFFFFFF WAVE past 4 GiB)
/// JUNK 28 <28 zero bytes>                      36 bytes   (ds64 28 <riff, data, sample count, 0> past 4 GiB)
/// fmt  <16|18|40> <WAVEFORMAT(EX|EXTENSIBLE)>   24..48 bytes
/// fact 4 <frames>                              12 bytes, only for f32
/// <metadata chunks>                             metadataSize bytes (bext, guan), left to the caller
/// data <data size>                              8 bytes, then the samples
/// ```
///
/// The `JUNK` chunk is the placeholder that EBU Tech 3306 asks for: when the file passes 4 GiB it
/// becomes the `ds64` chunk of an RF64 file. The format chunk follows Microsoft's rules: plain
/// `WAVE_FORMAT_PCM` or `WAVE_FORMAT_IEEE_FLOAT` for at most 2 channels and at most 16 bits (32 for
/// float), `WAVE_FORMAT_EXTENSIBLE` with a channel mask otherwise.
///
/// The metadata chunks (``BextChunk``, ``GuanoChunk``) have fixed sizes too: the header reserves
/// `metadataSize` bytes for them at `metadataOffset`, and `write(dataBytes:into:)` leaves those bytes alone,
/// so the caller renders them once and refreshes only what changes.
///
/// Sizes written are always whole frames: a trailing partial frame is never declared as audio.
/// When the audio has an odd number of bytes, the RIFF size counts the pad byte that RIFF requires
/// after the data chunk; the writer appends that byte when it closes the file.
public struct WAVHeader: Sendable, Hashable {
    /// `WAVE_FORMAT_PCM`.
    public static let formatPCM: UInt16 = 0x0001
    /// `WAVE_FORMAT_IEEE_FLOAT`.
    public static let formatIEEEFloat: UInt16 = 0x0003
    /// `WAVE_FORMAT_EXTENSIBLE`.
    public static let formatExtensible: UInt16 = 0xFFFE
    /// The largest RIFF size a plain RIFF file can declare; bigger files are written as RF64.
    public static let maxRIFFSize: UInt64 = 0xFFFF_FFFF
    /// Payload length of the `JUNK`/`ds64` chunk (riff size, data size, sample count, table length).
    public static let ds64PayloadSize = 28
    /// The tail shared by the PCM and IEEE-float `SubFormat` GUIDs (`xxxxxxxx-0000-0010-8000-00aa00389b71`).
    public static let subFormatGUIDTail: [UInt8] = [
        0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
    ]

    public let format: AudioFormat
    /// The `wFormatTag` in the `fmt ` chunk: PCM, IEEE float or extensible.
    public let formatTag: UInt16
    /// Speaker positions declared in an extensible format chunk (0 when none or not extensible).
    public let channelMask: UInt32

    /// Length of the header in bytes, that is the offset of the first sample. Constant for a format.
    public let headerSize: Int
    /// Where the metadata chunks start, and how many bytes they take (whole chunks; 0: none).
    public let metadataOffset: Int
    public let metadataSize: Int

    private let formatPayloadSize: Int
    private let hasFact: Bool

    /// A header for `format`, with `metadataSize` bytes of metadata chunks before the data.
    ///
    /// - Precondition: `format.channels` is in 1...65535, `format.sampleRate` in 1...0xFFFFFFFF, and
    ///   `metadataSize` is 0, or even and at least 8 (one chunk header).
    public init(format: AudioFormat, metadataSize: Int = 0) {
        precondition(
            metadataSize == 0 || (metadataSize >= 8 && metadataSize % 2 == 0), "metadata must be whole even chunks")
        precondition((1...0xFFFF).contains(format.channels), "WAV supports 1 to 65535 channels")
        precondition(
            format.sampleRate >= 1 && UInt64(format.sampleRate) <= 0xFFFF_FFFF,
            "WAV sample rates are 32-bit")
        self.format = format
        let extensible = format.channels > 2 || (!format.sampleFormat.isFloat && format.sampleFormat.bitsPerSample > 16)
        if extensible {
            formatTag = Self.formatExtensible
            formatPayloadSize = 40
            channelMask = Self.defaultChannelMask(channels: format.channels)
        } else if format.sampleFormat.isFloat {
            formatTag = Self.formatIEEEFloat
            formatPayloadSize = 18
            channelMask = 0
        } else {
            formatTag = Self.formatPCM
            formatPayloadSize = 16
            channelMask = 0
        }
        hasFact = format.sampleFormat.isFloat
        metadataOffset = 12 + (8 + Self.ds64PayloadSize) + (8 + formatPayloadSize) + (hasFact ? 12 : 0)
        self.metadataSize = metadataSize
        headerSize = metadataOffset + metadataSize + 8
    }

    /// The header of a file laid out as audiocap writes it: `parsed`'s chunks before the data are
    /// `JUNK`/`ds64`, `fmt ` (and `fact` for float) where this type puts them, then only whole chunks up to
    /// the `data` chunk, which become the metadata region. Nil for any other layout.
    public init?(layoutOf parsed: ParsedWAV) {
        let plain = WAVHeader(format: parsed.format)
        let metadataSize = parsed.dataOffset - plain.headerSize
        guard metadataSize == 0 || (metadataSize >= 8 && metadataSize % 2 == 0) else { return nil }
        let header = WAVHeader(format: parsed.format, metadataSize: metadataSize)
        guard header.formatTag == parsed.formatTag else { return nil }
        var expected: [(ids: Set<String>, offset: Int, size: Int)] = [
            (["JUNK", "ds64"], 20, Self.ds64PayloadSize), (["fmt "], 56, header.formatPayloadSize),
        ]
        if header.hasFact { expected.append((["fact"], header.metadataOffset - 4, 4)) }
        let chunks = parsed.chunks
        guard chunks.count >= expected.count + 1, chunks.last?.id == "data" else { return nil }
        for (chunk, want) in zip(chunks, expected) {
            guard want.ids.contains(chunk.id), chunk.offset == want.offset, chunk.size == want.size else { return nil }
        }
        self = header
    }

    /// The standard speaker mask for `channels` channels (`dwChannelMask`), or 0 (no positions) for
    /// more than 8.
    ///
    /// 1 FC, 2 FL FR, 3 FL FR FC, 4 FL FR BL BR, 5 FL FR FC BL BR, 6 5.1 (FL FR FC LFE BL BR),
    /// 7 6.1 (… BC), 8 7.1 (FL FR FC LFE BL BR SL SR).
    public static func defaultChannelMask(channels: Int) -> UInt32 {
        switch channels {
        case 1: 0x4
        case 2: 0x3
        case 3: 0x7
        case 4: 0x33
        case 5: 0x37
        case 6: 0x3F
        case 7: 0x13F
        case 8: 0x63F
        default: 0
        }
    }

    /// `dataBytes` rounded down to a whole number of frames: the size a header declares for them.
    public func wholeFrameBytes(_ dataBytes: UInt64) -> UInt64 {
        let frame = UInt64(format.bytesPerFrame)
        return dataBytes - dataBytes % frame
    }

    /// The size of the finished file holding `dataBytes` bytes of audio (whole frames only), with
    /// the pad byte RIFF asks for after an odd-sized data chunk.
    public func fileSize(dataBytes: UInt64) -> UInt64 {
        let data = wholeFrameBytes(dataBytes)
        return UInt64(headerSize) + data + (data & 1)
    }

    /// Whether a file holding `dataBytes` bytes of audio needs an RF64 header (its RIFF size would
    /// not fit in 32 bits).
    public func isRF64(dataBytes: UInt64) -> Bool {
        fileSize(dataBytes: dataBytes) - 8 > Self.maxRIFFSize
    }

    /// The header for a file holding `dataBytes` bytes of audio; a trailing partial frame is not
    /// counted. RIFF while the file fits in 4 GiB − 1, RF64 beyond. Always `headerSize` bytes long.
    /// The metadata region is `metadata` when given (whole chunks, `metadataSize` bytes), else one `JUNK`
    /// chunk of zeros.
    public func bytes(dataBytes: UInt64, metadata: [UInt8]? = nil) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: headerSize)
        if let metadata {
            precondition(
                metadata.count == metadataSize, "metadata is \(metadata.count) bytes, expected \(metadataSize)")
            result.replaceSubrange(metadataOffset..<metadataOffset + metadataSize, with: metadata)
        } else if metadataSize > 0 {
            result.replaceSubrange(metadataOffset..<metadataOffset + 4, with: Array("JUNK".utf8))
            withUnsafeBytes(of: UInt32(metadataSize - 8).littleEndian) {
                result.replaceSubrange(metadataOffset + 4..<metadataOffset + 8, with: $0)
            }
        }
        result.withUnsafeMutableBytes { write(dataBytes: dataBytes, into: $0) }
        return result
    }

    /// Writes the header for `dataBytes` bytes of audio into the first `headerSize` bytes of
    /// `buffer`, without allocating; the same bytes as `bytes(dataBytes:)`, except that the `metadataSize`
    /// bytes at `metadataOffset` are left as they are: the caller writes its metadata chunks there.
    ///
    /// - Precondition: `buffer.count >= headerSize`.
    public func write(dataBytes: UInt64, into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= headerSize, "header buffer too small")
        let data = wholeFrameBytes(dataBytes)
        let frames = data / UInt64(format.bytesPerFrame)
        let riffSize = fileSize(dataBytes: data) - 8
        let rf64 = riffSize > Self.maxRIFFSize
        var out = ByteWriter(buffer: buffer)

        out.fourCC(rf64 ? "RF64" : "RIFF")
        out.u32(rf64 ? 0xFFFF_FFFF : UInt32(riffSize))
        out.fourCC("WAVE")

        out.fourCC(rf64 ? "ds64" : "JUNK")
        out.u32(UInt32(Self.ds64PayloadSize))
        if rf64 {
            out.u64(riffSize)
            out.u64(data)
            out.u64(frames)
            out.u32(0)  // table length: no other chunk needs a 64-bit size
        } else {
            out.zeros(Self.ds64PayloadSize)
        }

        let bits = format.sampleFormat.bitsPerSample
        let blockAlign = format.bytesPerFrame
        out.fourCC("fmt ")
        out.u32(UInt32(formatPayloadSize))
        out.u16(formatTag)
        out.u16(UInt16(format.channels))
        out.u32(UInt32(format.sampleRate))
        out.u32(UInt32(clamping: UInt64(format.sampleRate) * UInt64(blockAlign)))
        out.u16(UInt16(clamping: blockAlign))
        out.u16(UInt16(bits))
        if formatTag == Self.formatExtensible {
            out.u16(22)  // cbSize
            out.u16(UInt16(bits))  // wValidBitsPerSample
            out.u32(channelMask)
            out.u32(UInt32(format.sampleFormat.isFloat ? Self.formatIEEEFloat : Self.formatPCM))
            out.bytes(Self.subFormatGUIDTail)
        } else if formatTag == Self.formatIEEEFloat {
            out.u16(0)  // cbSize
        }

        if hasFact {
            out.fourCC("fact")
            out.u32(4)
            out.u32(rf64 || frames > 0xFFFF_FFFF ? 0xFFFF_FFFF : UInt32(frames))
        }

        out.offset += metadataSize
        out.fourCC("data")
        out.u32(rf64 ? 0xFFFF_FFFF : UInt32(data))
        assert(out.offset == headerSize)
    }

    /// Reads the header of a RIFF/RF64 (or BW64) WAVE file from its first bytes, up to the start of
    /// the `data` chunk. Chunks other than `ds64`, `fmt ` and `data` are skipped.
    ///
    /// - Parameter bytes: the beginning of the file; it needs to reach the first sample.
    /// - Returns: the audio format, where the samples start and the data size the header declares.
    /// - Throws: `WAVParseError` with code `.truncated` when `bytes` end before the data chunk
    ///   starts (everything read so far was valid), `.notWAV`, `.malformed` or `.unsupportedFormat`.
    public static func parse(_ bytes: [UInt8]) throws(WAVParseError) -> ParsedWAV {
        let reader = ByteReader(bytes: bytes)
        guard let magic = reader.fourCC(at: 0), let riffSize32 = reader.u32(at: 4),
            let wave = reader.fourCC(at: 8)
        else {
            let magicPrefix = bytes.prefix(4)
            let wavePrefix = bytes.dropFirst(8)
            let consistent =
                ["RIFF", "RF64", "BW64"].contains { $0.utf8.starts(with: magicPrefix) }
                && "WAVE".utf8.starts(with: wavePrefix)
            guard consistent else {
                throw WAVParseError(.notWAV, "the file does not start with a RIFF or RF64 WAVE header")
            }
            throw WAVParseError(.truncated, "the file ends inside the RIFF header (\(bytes.count) bytes)")
        }
        let isRF64 = magic == "RF64" || magic == "BW64"
        guard magic == "RIFF" || isRF64 else {
            throw WAVParseError(.notWAV, "the file starts with '\(magic)', not RIFF or RF64")
        }
        guard wave == "WAVE" else {
            throw WAVParseError(.notWAV, "the RIFF form type is '\(wave)', not WAVE")
        }

        var ds64: (riff: UInt64, data: UInt64, frames: UInt64)?
        var fmt: (format: AudioFormat, tag: UInt16, mask: UInt32)?
        var position = 12
        var chunks: [ParsedWAV.Chunk] = []
        while true {
            guard let id = reader.fourCC(at: position), let size32 = reader.u32(at: position + 4) else {
                throw WAVParseError(.truncated, "the file ends inside a chunk header at offset \(position)")
            }
            let payload = position + 8
            let size = Int(size32)
            chunks.append(ParsedWAV.Chunk(id: id, offset: payload, size: size))
            switch id {
            case "ds64":
                guard isRF64 else { break }
                guard size >= 24 else {
                    throw WAVParseError(.malformed, "the ds64 chunk is \(size) bytes, shorter than 24")
                }
                guard let riff = reader.u64(at: payload), let data = reader.u64(at: payload + 8),
                    let frames = reader.u64(at: payload + 16)
                else {
                    throw WAVParseError(.truncated, "the file ends inside the ds64 chunk")
                }
                ds64 = (riff, data, frames)
            case "fmt ":
                guard payload + size <= bytes.count else {
                    throw WAVParseError(.truncated, "the file ends inside the fmt chunk")
                }
                fmt = try parseFormat(reader, at: payload, size: size)
            case "data":
                guard let fmt else {
                    throw WAVParseError(.malformed, "the data chunk comes before any fmt chunk")
                }
                var dataSize = UInt64(size32)
                var riffSize = UInt64(riffSize32)
                if isRF64 {
                    guard let ds64 else {
                        throw WAVParseError(.malformed, "the RF64 file has no ds64 chunk before its data")
                    }
                    if size32 == 0xFFFF_FFFF { dataSize = ds64.data }
                    if riffSize32 == 0xFFFF_FFFF { riffSize = ds64.riff }
                }
                var parsed = ParsedWAV(
                    format: fmt.format, formatTag: fmt.tag, channelMask: fmt.mask, isRF64: isRF64,
                    declaredRIFFSize: riffSize, dataOffset: payload, declaredDataSize: dataSize)
                parsed.chunks = chunks
                return parsed
            default:
                break
            }
            position = payload + size + (size & 1)
        }
    }

    private static func parseFormat(
        _ reader: ByteReader, at offset: Int, size: Int
    ) throws(WAVParseError) -> (format: AudioFormat, tag: UInt16, mask: UInt32) {
        guard size >= 16, let tag = reader.u16(at: offset), let channels = reader.u16(at: offset + 2),
            let rate = reader.u32(at: offset + 4), let blockAlign = reader.u16(at: offset + 12),
            let bits = reader.u16(at: offset + 14)
        else {
            throw WAVParseError(.malformed, "the fmt chunk is \(size) bytes, shorter than 16")
        }
        var codingTag = tag
        var mask: UInt32 = 0
        if tag == formatExtensible {
            guard size >= 40, let cbSize = reader.u16(at: offset + 16), cbSize >= 22,
                let channelMask = reader.u32(at: offset + 20), let subFormat = reader.u32(at: offset + 24),
                reader.slice(at: offset + 28, count: 12).map(Array.init) == subFormatGUIDTail
            else {
                throw WAVParseError(.malformed, "the extensible fmt chunk is incomplete or has an unknown SubFormat")
            }
            guard subFormat <= 0xFFFF else {
                throw WAVParseError(.unsupportedFormat, "the SubFormat code \(subFormat) is not PCM or IEEE float")
            }
            codingTag = UInt16(subFormat)
            mask = channelMask
        }
        let sampleFormat: SampleFormat
        switch (codingTag, bits) {
        case (formatPCM, 16): sampleFormat = .s16
        case (formatPCM, 24): sampleFormat = .s24
        case (formatPCM, 32): sampleFormat = .s32
        case (formatIEEEFloat, 32): sampleFormat = .f32
        default:
            throw WAVParseError(
                .unsupportedFormat, "format tag \(codingTag) with \(bits) bits per sample is not s16, s24, s32 or f32")
        }
        guard channels >= 1, rate >= 1 else {
            throw WAVParseError(.malformed, "the fmt chunk declares \(channels) channels at \(rate) Hz")
        }
        let format = AudioFormat(sampleRate: Int(rate), channels: Int(channels), sampleFormat: sampleFormat)
        guard Int(blockAlign) == format.bytesPerFrame else {
            throw WAVParseError(
                .malformed, "the block align is \(blockAlign), expected \(format.bytesPerFrame) for this format")
        }
        return (format, tag, mask)
    }
}

/// What `WAVHeader.parse` read from a RIFF/RF64 header.
public struct ParsedWAV: Sendable, Hashable {
    public var format: AudioFormat
    /// `wFormatTag` as written (extensible stays `0xFFFE`).
    public var formatTag: UInt16
    /// `dwChannelMask` of an extensible format chunk, else 0.
    public var channelMask: UInt32
    /// The file starts with `RF64` (or `BW64`) and takes its sizes from `ds64`.
    public var isRF64: Bool
    /// The RIFF size the header declares (from `ds64` for RF64).
    public var declaredRIFFSize: UInt64
    /// Offset of the first sample in the file.
    public var dataOffset: Int
    /// The data size the header declares (from `ds64` for RF64); the file may hold more or less.
    public var declaredDataSize: UInt64
    /// The chunks from the first after `WAVE` to `data`, in file order; `offset` is where each payload starts.
    public var chunks: [Chunk] = []

    /// A chunk of the file: its id, where its payload starts and the size its header declares.
    public struct Chunk: Sendable, Hashable {
        public var id: String
        public var offset: Int
        public var size: Int

        public init(id: String, offset: Int, size: Int) {
            self.id = id
            self.offset = offset
            self.size = size
        }
    }

    /// The first chunk named `id` before the data, if any.
    public func chunk(_ id: String) -> Chunk? { chunks.first { $0.id == id } }

    public init(
        format: AudioFormat, formatTag: UInt16, channelMask: UInt32, isRF64: Bool, declaredRIFFSize: UInt64,
        dataOffset: Int, declaredDataSize: UInt64
    ) {
        self.format = format
        self.formatTag = formatTag
        self.channelMask = channelMask
        self.isRF64 = isRF64
        self.declaredRIFFSize = declaredRIFFSize
        self.dataOffset = dataOffset
        self.declaredDataSize = declaredDataSize
    }

    /// Whole frames in the declared data size.
    public var declaredFrames: Int64 { Int64(declaredDataSize / UInt64(format.bytesPerFrame)) }
}

/// Why a WAV header could not be read.
public struct WAVParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The bytes end before the data chunk starts; what was there was valid.
        case truncated
        /// Not a RIFF/RF64 WAVE file.
        case notWAV
        /// A WAVE file whose chunks contradict each other or are too short.
        case malformed
        /// A valid WAVE file in an encoding audiocap does not write (s16, s24, s32, f32 only).
        case unsupportedFormat
    }

    public var code: Code
    /// What was wrong, as a sentence fragment.
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "Cannot read the WAV header (\(code.rawValue)): \(detail)." }
}

/// Little-endian writes into a raw buffer; the caller sized it.
private struct ByteWriter {
    let buffer: UnsafeMutableRawBufferPointer
    var offset = 0

    mutating func u16(_ value: UInt16) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self)
        offset += 2
    }

    mutating func u32(_ value: UInt32) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
        offset += 4
    }

    mutating func u64(_ value: UInt64) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
        offset += 8
    }

    mutating func fourCC(_ id: StaticString) {
        precondition(id.utf8CodeUnitCount == 4)
        for i in 0..<4 { buffer[offset + i] = id.utf8Start[i] }
        offset += 4
    }

    mutating func zeros(_ count: Int) {
        for i in 0..<count { buffer[offset + i] = 0 }
        offset += count
    }

    mutating func bytes(_ values: [UInt8]) {
        for (i, byte) in values.enumerated() { buffer[offset + i] = byte }
        offset += values.count
    }
}

/// Bounds-checked little-endian reads; `nil` past the end.
private struct ByteReader {
    let bytes: [UInt8]

    func slice(at offset: Int, count: Int) -> ArraySlice<UInt8>? {
        guard offset >= 0, count >= 0, offset <= bytes.count - count else { return nil }
        return bytes[offset..<offset + count]
    }

    func fourCC(at offset: Int) -> String? {
        guard let raw = slice(at: offset, count: 4) else { return nil }
        return String(decoding: raw.map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }

    func u16(at offset: Int) -> UInt16? { integer(at: offset) }
    func u32(at offset: Int) -> UInt32? { integer(at: offset) }
    func u64(at offset: Int) -> UInt64? { integer(at: offset) }

    private func integer<T: FixedWidthInteger>(at offset: Int) -> T? {
        guard let raw = slice(at: offset, count: MemoryLayout<T>.size) else { return nil }
        var value: T = 0
        for (shift, byte) in raw.enumerated() { value |= T(byte) << (shift * 8) }
        return value
    }
}
