// WAVHeader: exact bytes, layout per format, RF64 past 4 GiB, and parsing.

import Foundation
import TestSupport
import Testing

@testable import CaptureCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("WAVHeader")
struct WAVHeaderTests {
    static let formats: [AudioFormat] = SampleFormat.allCases.flatMap { sampleFormat in
        [1, 2, 6].map { AudioFormat(sampleRate: 48_000, channels: $0, sampleFormat: sampleFormat) }
    }

    @Test("s16 stereo header matches known-good bytes")
    func s16StereoBytes() {
        let header = WAVHeader(format: AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16))
        let expected: [UInt8] = [
            // RIFF, size = 80 + 1000 - 8 = 1072, WAVE
            0x52, 0x49, 0x46, 0x46, 0x30, 0x04, 0x00, 0x00, 0x57, 0x41, 0x56, 0x45,
            // JUNK, 28, 28 zero bytes (the ds64 placeholder)
            0x4A, 0x55, 0x4E, 0x4B, 0x1C, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            // "fmt ", 16
            0x66, 0x6D, 0x74, 0x20, 0x10, 0x00, 0x00, 0x00,
            // PCM, 2 channels, 48000 Hz, 192000 bytes/s, block align 4, 16 bits
            0x01, 0x00, 0x02, 0x00, 0x80, 0xBB, 0x00, 0x00, 0x00, 0xEE, 0x02, 0x00, 0x04, 0x00, 0x10, 0x00,
            // data, 1000
            0x64, 0x61, 0x74, 0x61, 0xE8, 0x03, 0x00, 0x00,
        ]
        #expect(header.headerSize == 80)
        #expect(header.bytes(dataBytes: 1000) == expected)
    }

    @Test("f32 mono uses IEEE float with cbSize 0 and a fact chunk")
    func f32MonoBytes() {
        let header = WAVHeader(format: AudioFormat(sampleRate: 44_100, channels: 1, sampleFormat: .f32))
        let bytes = header.bytes(dataBytes: 400)
        #expect(header.headerSize == 94)
        #expect(Array(bytes[48..<56]) == Array("fmt ".utf8) + [18, 0, 0, 0])
        #expect(u16(bytes, 56) == 3)
        #expect(u16(bytes, 56 + 16) == 0)  // cbSize
        #expect(Array(bytes[74..<78]) == Array("fact".utf8))
        #expect(u32(bytes, 78) == 4)
        #expect(u32(bytes, 82) == 100)  // frames
        #expect(Array(bytes[86..<90]) == Array("data".utf8))
        #expect(u32(bytes, 90) == 400)
        #expect(u32(bytes, 4) == 94 + 400 - 8)
    }

    @Test("s24 stereo uses WAVE_FORMAT_EXTENSIBLE with the PCM SubFormat")
    func s24StereoExtensible() {
        let header = WAVHeader(format: AudioFormat(sampleRate: 96_000, channels: 2, sampleFormat: .s24))
        let bytes = header.bytes(dataBytes: 600)
        let fmt = 56
        #expect(header.headerSize == 104)
        #expect(u32(bytes, 52) == 40)
        #expect(u16(bytes, fmt) == 0xFFFE)
        #expect(u16(bytes, fmt + 2) == 2)
        #expect(u32(bytes, fmt + 4) == 96_000)
        #expect(u32(bytes, fmt + 8) == 96_000 * 6)
        #expect(u16(bytes, fmt + 12) == 6)
        #expect(u16(bytes, fmt + 14) == 24)
        #expect(u16(bytes, fmt + 16) == 22)  // cbSize
        #expect(u16(bytes, fmt + 18) == 24)  // wValidBitsPerSample
        #expect(u32(bytes, fmt + 20) == 0x3)  // FL | FR
        #expect(
            Array(bytes[(fmt + 24)..<(fmt + 40)]) == [
                0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
            ])
        #expect(u32(bytes, 100) == 600)
    }

    @Test("f32 with 6 channels: extensible, IEEE float SubFormat, 5.1 mask, fact chunk")
    func f32SixChannels() {
        let header = WAVHeader(format: AudioFormat(sampleRate: 48_000, channels: 6, sampleFormat: .f32))
        let bytes = header.bytes(dataBytes: 2400)
        #expect(header.headerSize == 116)
        #expect(u16(bytes, 56) == 0xFFFE)
        #expect(u32(bytes, 56 + 20) == 0x3F)
        #expect(u32(bytes, 56 + 24) == 3)
        #expect(Array(bytes[96..<100]) == Array("fact".utf8))
        #expect(u32(bytes, 104) == 100)
    }

    @Test("format tag and header size per format", arguments: formats)
    func layoutPerFormat(format: AudioFormat) {
        let header = WAVHeader(format: format)
        let extensible = format.channels > 2 || format.sampleFormat == .s24 || format.sampleFormat == .s32
        let expectedTag: UInt16 = extensible ? 0xFFFE : (format.sampleFormat == .f32 ? 3 : 1)
        #expect(header.formatTag == expectedTag)
        let fmtPayload = extensible ? 40 : (format.sampleFormat == .f32 ? 18 : 16)
        #expect(header.headerSize == 12 + 36 + 8 + fmtPayload + (format.sampleFormat == .f32 ? 12 : 0) + 8)
        for dataBytes: UInt64 in [0, 12_000, 5 << 30] {
            #expect(header.bytes(dataBytes: dataBytes).count == header.headerSize)
        }
    }

    @Test("standard channel masks")
    func channelMasks() {
        let masks = (1...9).map { WAVHeader.defaultChannelMask(channels: $0) }
        #expect(masks == [0x4, 0x3, 0x7, 0x33, 0x37, 0x3F, 0x13F, 0x63F, 0])
    }

    @Test("sizes count whole frames only")
    func wholeFrames() {
        let header = WAVHeader(format: AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s24))
        #expect(header.wholeFrameBytes(605) == 600)
        #expect(header.bytes(dataBytes: 605) == header.bytes(dataBytes: 600))
        #expect(header.bytes(dataBytes: 5) == header.bytes(dataBytes: 0))
    }

    @Test("an odd-sized data chunk counts its pad byte in the RIFF size")
    func padByte() {
        let header = WAVHeader(format: AudioFormat(sampleRate: 8_000, channels: 1, sampleFormat: .s24))
        let bytes = header.bytes(dataBytes: 3)
        #expect(u32(bytes, 4) == UInt32(header.headerSize + 3 + 1 - 8))
        #expect(u32(bytes, header.headerSize - 4) == 3)
        #expect(header.fileSize(dataBytes: 3) == UInt64(header.headerSize + 4))
    }

    @Test("RIFF up to 4 GiB - 1, RF64 beyond")
    func rf64Threshold() throws {
        let header = WAVHeader(format: AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16))
        // The largest whole-frame data size whose RIFF size (file size - 8) fits in 32 bits.
        let maxRIFFData = (0xFFFF_FFFF + 8 - UInt64(header.headerSize)) / 4 * 4
        #expect(!header.isRF64(dataBytes: maxRIFFData))
        #expect(header.isRF64(dataBytes: maxRIFFData + 4))

        let riff = header.bytes(dataBytes: maxRIFFData)
        #expect(Array(riff[0..<4]) == Array("RIFF".utf8))
        #expect(UInt64(u32(riff, 4)) == UInt64(header.headerSize) + maxRIFFData - 8)
        #expect(UInt64(u32(riff, 76)) == maxRIFFData)

        let rf64 = header.bytes(dataBytes: maxRIFFData + 4)
        #expect(Array(rf64[0..<4]) == Array("RF64".utf8))
        let parsed = try WAVHeader.parse(rf64)
        #expect(parsed.isRF64)
        #expect(parsed.declaredDataSize == maxRIFFData + 4)
    }

    @Test("RF64 header for 5 GiB of s16 stereo")
    func rf64Bytes() {
        let header = WAVHeader(format: AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16))
        let data: UInt64 = 5 << 30
        let bytes = header.bytes(dataBytes: data)
        #expect(Array(bytes[0..<4]) == Array("RF64".utf8))
        #expect(u32(bytes, 4) == 0xFFFF_FFFF)
        #expect(Array(bytes[8..<12]) == Array("WAVE".utf8))
        #expect(Array(bytes[12..<16]) == Array("ds64".utf8))
        #expect(u32(bytes, 16) == 28)
        #expect(u64(bytes, 20) == data + 80 - 8)  // RIFF size
        #expect(u64(bytes, 28) == data)  // data size
        #expect(u64(bytes, 36) == data / 4)  // sample count
        #expect(u32(bytes, 44) == 0)  // table length
        #expect(Array(bytes[48..<52]) == Array("fmt ".utf8))
        #expect(Array(bytes[72..<76]) == Array("data".utf8))
        #expect(u32(bytes, 76) == 0xFFFF_FFFF)
    }

    @Test("parse reads back what bytes(dataBytes:) writes", arguments: formats)
    func parseRoundTrip(format: AudioFormat) throws {
        let header = WAVHeader(format: format)
        for frames: UInt64 in [0, 1, 1000, (5 << 30) / UInt64(format.bytesPerFrame)] {
            let dataBytes = frames * UInt64(format.bytesPerFrame)
            let parsed = try WAVHeader.parse(header.bytes(dataBytes: dataBytes))
            #expect(parsed.format == format)
            #expect(parsed.dataOffset == header.headerSize)
            #expect(parsed.declaredDataSize == dataBytes)
            #expect(parsed.declaredFrames == Int64(frames))
            #expect(parsed.isRF64 == header.isRF64(dataBytes: dataBytes))
            #expect(parsed.declaredRIFFSize == header.fileSize(dataBytes: dataBytes) - 8)
            #expect(parsed.formatTag == header.formatTag)
            #expect(parsed.channelMask == header.channelMask)
        }
    }

    @Test("every prefix of a header is reported as truncated")
    func truncatedPrefixes() {
        for format in Self.formats {
            let bytes = WAVHeader(format: format).bytes(dataBytes: 4000)
            for length in 0..<bytes.count {
                #expect(parseCode(Array(bytes[0..<length])) == .truncated, "\(format), \(length) bytes")
            }
        }
    }

    @Test("parse rejects what is not a WAVE file, and formats audiocap does not write")
    func parseErrors() {
        #expect(parseCode(Array("OggS and then some more bytes".utf8)) == .notWAV)
        #expect(parseCode(Array("RIFF\u{0}\u{0}\u{0}\u{0}AVI LIST".utf8)) == .notWAV)
        #expect(parseCode(Array("RI".utf8)) == .truncated)
        #expect(parseCode(Array("RIX".utf8)) == .notWAV)

        // 8-bit unsigned PCM: a valid WAV file, but not one of ours.
        var eightBit = WAVHeader(format: AudioFormat(sampleRate: 8000, channels: 1, sampleFormat: .s16))
            .bytes(dataBytes: 0)
        eightBit[56 + 12] = 1  // block align
        eightBit[56 + 14] = 8  // bits
        #expect(parseCode(eightBit) == .unsupportedFormat)

        // Block align that contradicts the format.
        var badAlign = WAVHeader(format: AudioFormat(sampleRate: 8000, channels: 2, sampleFormat: .s16))
            .bytes(dataBytes: 0)
        badAlign[56 + 12] = 3
        #expect(parseCode(badAlign) == .malformed)

        // RF64 without ds64.
        var noDS64 = WAVHeader(format: AudioFormat(sampleRate: 8000, channels: 2, sampleFormat: .s16))
            .bytes(dataBytes: 0)
        noDS64.replaceSubrange(0..<4, with: Array("RF64".utf8))
        #expect(parseCode(noDS64) == .malformed)

        let error = WAVParseError(.notWAV, "the file starts with 'OggS', not RIFF or RF64")
        #expect(
            error.description == "Cannot read the WAV header (notWAV): the file starts with 'OggS', not RIFF or RF64.")
    }

    @Test("parse skips unknown chunks, including odd-sized ones")
    func parseSkipsChunks() throws {
        let format = AudioFormat(sampleRate: 22_050, channels: 1, sampleFormat: .s16)
        let ours = WAVHeader(format: format).bytes(dataBytes: 10)
        // RIFF WAVE, then a 3-byte LIST chunk (+ pad), then our chunks from fmt on.
        let bytes = Array(ours[0..<12]) + Array("LIST".utf8) + [3, 0, 0, 0, 1, 2, 3, 0] + Array(ours[48...])
        let parsed = try WAVHeader.parse(bytes)
        #expect(parsed.format == format)
        #expect(parsed.dataOffset == 12 + 12 + (ours.count - 48))
        #expect(parsed.declaredDataSize == 10)
    }

    /// A sparse file with an RF64 header for 5 GiB of audio: ffprobe must see all of it. (Not soxi: SoX
    /// 14.4.2 reads an RF64 file to its end, which takes too long for a unit test.)
    @Test("ffprobe reads a 5 GiB RF64 file (sparse)")
    func sparseRF64WithFFprobe() throws {
        let directory = try TemporaryDirectory(prefix: "wavheader-\(UUID().uuidString)")
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
        let header = WAVHeader(format: format)
        let data: UInt64 = 5 << 30
        let path = directory.file("big.wav")
        try Data(header.bytes(dataBytes: data)).write(to: URL(fileURLWithPath: path))
        guard truncate(path, off_t(header.fileSize(dataBytes: data))) == 0 else {
            // No sparse files here (or no room): nothing to check.
            return
        }
        let probe = try ffprobe(path)
        #expect(probe["codec_name"] as? String == "pcm_s16le")
        #expect(probe["duration_ts"] as? Int == Int(data / 4))
        #expect(probe["channels"] as? Int == 2)
    }

    // MARK: - Helpers

    private func parseCode(_ bytes: [UInt8]) -> WAVParseError.Code? {
        do {
            _ = try WAVHeader.parse(bytes)
            return nil
        } catch {
            return error.code
        }
    }

    private func ffprobe(_ path: String) throws -> [String: Any] {
        let result = try ProcessRunner.run(
            "ffprobe", ["-v", "error", "-show_streams", "-of", "json", path], timeout: 20)
        try #require(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
        let json = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let streams = try #require(json?["streams"] as? [[String: Any]])
        return try #require(streams.first)
    }

    private func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    private func u64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }
}
