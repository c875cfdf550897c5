// SegmentMetadata and its encoders: the bext and GUANO chunks at fixed sizes, rewritten in place, in a
// WAV header (RIFF and RF64) that keeps its length; and the [station] table that feeds them.

import Foundation
import Testing

@testable import CaptureCore

@Suite("Segment metadata")
struct SegmentMetadataTests {
    static let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
    /// 2026-12-01 20:00:06.25 UTC.
    static let start = 1_796_155_206.25

    static func metadata(station: StationConfiguration = StationConfiguration()) -> SegmentMetadata {
        SegmentMetadata(
            station: station, hostName: "box", recording: "birds", source: "main", format: format,
            firstFrame: 123_456, startTime: start, timeZone: .utc, filename: "000001.wav")
    }

    static func fullStation() -> StationConfiguration {
        var station = StationConfiguration()
        station.id = "garden-01"
        station.latitude = 52.5163
        station.longitude = -13.3777
        station.elevation = 34.5
        station.make = "Acme"
        station.model = "Mic 2"
        station.serial = "SN-42"
        station.note = "line one\nline two"
        return station
    }

    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << ($1 * 8) }
    }

    static func text(_ bytes: [UInt8], _ range: Range<Int>) -> String {
        String(decoding: bytes[range].prefix { $0 != 0 }, as: UTF8.self)
    }

    @Test("the facts: time of day in samples, UTC date and time, ISO timestamp, the host name for an empty id")
    func facts() {
        var metadata = Self.metadata()
        #expect(metadata.stationID == "box")
        #expect(metadata.originationDate == "2026-12-01")
        #expect(metadata.originationTime == "20:00:06")
        #expect(metadata.timestamp == "2026-12-01T20:00:06.250000+00:00")
        // 20:00:06.25 is 72006.25 s after midnight.
        #expect(metadata.timeReference == 72_006 * 48_000 + 12_000)
        #expect(metadata.reference.count == 32)
        #expect(metadata.reference.hasPrefix("20261201T200006-"))
        metadata.frames = 96_000
        #expect(metadata.lengthSeconds == 2)
        #expect(SegmentMetadata.lengthText(frames: 96_001, sampleRate: 48_000) == "2.000020")
    }

    @Test("bext: 866 bytes, version 2, the fields at their EBU Tech 3285 offsets")
    func bext() {
        let bytes = BextChunk.bytes(Self.metadata(station: Self.fullStation()))
        #expect(bytes.count == BextChunk.size && bytes.count == 866)
        #expect(Self.text(bytes, 0..<4) == "bext")
        #expect(Self.u32(bytes, 4) == 858)
        let p = 8
        #expect(Self.text(bytes, p..<p + 256) == "audiocap station garden-01, recording birds (source main)")
        #expect(Self.text(bytes, p + 256..<p + 288) == "audiocap")
        #expect(Self.text(bytes, p + 288..<p + 320).hasPrefix("20261201T200006-"))
        #expect(Self.text(bytes, p + 320..<p + 330) == "2026-12-01")
        #expect(Self.text(bytes, p + 330..<p + 338) == "20:00:06")
        let reference = UInt64(Self.u32(bytes, p + 338)) | UInt64(Self.u32(bytes, p + 342)) << 32
        #expect(reference == 72_006 * 48_000 + 12_000)
        #expect(bytes[p + 346] == 2 && bytes[p + 347] == 0)
        #expect(bytes[p + 348..<p + 412].allSatisfy { $0 == 0 })  // no UMID
        #expect(bytes[p + 412] == 0xFF && bytes[p + 413] == 0x7F)  // loudness not measured
        #expect(
            Self.text(bytes, p + 602..<p + 858)
                == "A=PCM,F=48000,W=16,M=stereo,T=audiocap \(AudioCapVersion.string) s16 2 ch\r\n")
    }

    @Test("a TimeReference past 2^32 samples: both halves")
    func bextTimeReferenceHigh() {
        var metadata = Self.metadata()
        metadata.format = AudioFormat(sampleRate: 192_000, channels: 1, sampleFormat: .s24)
        metadata.startTime = 1_796_169_599.5  // 23:59:59.5 UTC: 16_588_704_000 samples
        let bytes = BextChunk.bytes(metadata)
        let reference = UInt64(Self.u32(bytes, 8 + 338)) | UInt64(Self.u32(bytes, 8 + 342)) << 32
        #expect(reference == 86_399 * 192_000 + 96_000)
        #expect(reference > UInt64(UInt32.max))
    }

    @Test("GUANO: version first, station fields when set, padded with spaces to 2056 bytes")
    func guano() {
        let bytes = GuanoChunk.bytes(Self.metadata(station: Self.fullStation()))
        #expect(bytes.count == GuanoChunk.size && bytes.count == 2056)
        #expect(Self.text(bytes, 0..<4) == "guan")
        #expect(Self.u32(bytes, 4) == 2048)
        let text = GuanoChunk.text(ofPayload: bytes[8...])
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "GUANO|Version: 1.0")
        for line in [
            "Timestamp: 2026-12-01T20:00:06.250000+00:00", "Samplerate: 48000", "Length: 0.000000", "Make: Acme",
            "Model: Mic 2", "Serial: SN-42", "Loc Position: 52.5163 -13.3777", "Loc Elevation: 34.5",
            "Original Filename: 000001.wav", "Note: line one\\nline two", "audiocap|Station: garden-01",
            "audiocap|Recording: birds", "audiocap|Source: main", "audiocap|First Frame: 123456",
            "audiocap|Gaps: 0", "audiocap|Gap Frames: 0",
        ] {
            #expect(lines.contains(line), "\(line) in \(lines)")
        }
        #expect(bytes[(8 + text.utf8.count)...].allSatisfy { $0 == UInt8(ascii: " ") })

        let bare = GuanoChunk.text(ofPayload: GuanoChunk.bytes(Self.metadata())[8...])
        for key in ["Make:", "Model:", "Serial:", "Loc Position:", "Loc Elevation:", "Note:"] {
            #expect(!bare.contains(key), "\(key) without a value in [station]")
        }
        #expect(bare.contains("audiocap|Station: box"))
    }

    @Test("GUANO Length and gaps are rewritten in place: same size, every other byte the same")
    func guanoRewrite() {
        var bytes = GuanoChunk.bytes(Self.metadata(station: Self.fullStation()))
        let before = bytes
        bytes.withUnsafeMutableBytes { chunk in
            GuanoChunk.updateLength(frames: 2_880_000_123, sampleRate: 48_000, in: chunk)
            GuanoChunk.updateGaps(count: 3, frames: 4_800, in: chunk)
        }
        #expect(bytes.count == before.count)
        let text = GuanoChunk.text(ofPayload: bytes[8...])
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("Length: 60000.002562"))
        #expect(lines.contains("audiocap|Gaps: 3"))
        #expect(lines.contains("audiocap|Gap Frames: 4800"))
        let changed = zip(before, bytes).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        let lengthLine = text.range(of: "Length:")!
        let offset = 8 + text.utf8.distance(from: text.startIndex, to: lengthLine.lowerBound)
        #expect(changed.allSatisfy { $0 > offset })
        // Back to a shorter value: the rest of the field is blanked.
        bytes.withUnsafeMutableBytes { GuanoChunk.updateLength(frames: 48_000, sampleRate: 48_000, in: $0) }
        #expect(
            GuanoChunk.text(ofPayload: bytes[8...]).contains(
                "Length: 1.000000" + String(repeating: " ", count: 16) + "\n"))
    }

    @Test("a header with metadata: chunks before data, same length at any size, RIFF then RF64, layout read back")
    func headerWithMetadata() throws {
        let metadata = Self.metadata(station: Self.fullStation())
        let chunks = BextChunk.bytes(metadata) + GuanoChunk.bytes(metadata)
        let plain = WAVHeader(format: Self.format)
        let header = WAVHeader(format: Self.format, metadataSize: chunks.count)
        #expect(header.headerSize == plain.headerSize + chunks.count)
        #expect(header.metadataOffset == plain.headerSize - 8)

        for dataBytes: UInt64 in [0, 4_000, 0xFFFF_0000, 5 << 30] {
            let bytes = header.bytes(dataBytes: dataBytes, metadata: chunks)
            #expect(bytes.count == header.headerSize)
            let parsed = try WAVHeader.parse(bytes)
            #expect(parsed.dataOffset == header.headerSize)
            #expect(parsed.declaredDataSize == dataBytes)
            #expect(parsed.isRF64 == header.isRF64(dataBytes: dataBytes))
            #expect(parsed.chunks.map(\.id) == [parsed.isRF64 ? "ds64" : "JUNK", "fmt ", "bext", "guan", "data"])
            let bext = try #require(parsed.chunk("bext"))
            #expect(Array(bytes[bext.offset - 8..<bext.offset + bext.size]) == Array(chunks[..<BextChunk.size]))
            #expect(WAVHeader(layoutOf: parsed) == header)
        }
        // RF64 declares every size in ds64: the RIFF size counts the metadata.
        let rf64 = try WAVHeader.parse(header.bytes(dataBytes: 5 << 30, metadata: chunks))
        #expect(rf64.declaredRIFFSize == UInt64(header.headerSize) + (5 << 30) - 8)

        // Without metadata given, the region is one JUNK chunk: still a valid file.
        let junk = try WAVHeader.parse(header.bytes(dataBytes: 400))
        #expect(junk.chunks.map(\.id) == ["JUNK", "fmt ", "JUNK", "data"])
        // Float files keep their fact chunk before the metadata.
        let float = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .f32)
        let floatHeader = WAVHeader(format: float, metadataSize: chunks.count)
        let parsedFloat = try WAVHeader.parse(floatHeader.bytes(dataBytes: 800, metadata: chunks))
        #expect(parsedFloat.chunks.map(\.id) == ["JUNK", "fmt ", "fact", "bext", "guan", "data"])
        #expect(WAVHeader(layoutOf: parsedFloat) == floatHeader)
        #expect(WAVHeader(layoutOf: try WAVHeader.parse(plain.bytes(dataBytes: 8))) == plain)
    }

    @Test("a layout audiocap does not write is not taken for one")
    func foreignLayout() throws {
        // A LIST chunk before fmt, as other writers put it.
        func le32(_ value: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(value).littleEndian) { Array($0) } }
        let fmt: [UInt8] = [1, 0, 2, 0] + le32(48_000) + le32(192_000) + [4, 0, 16, 0]
        let body: [UInt8] =
            Array("WAVE".utf8) + Array("LIST".utf8) + le32(4) + Array("INFO".utf8) + Array("fmt ".utf8) + le32(16)
            + fmt + Array("data".utf8) + le32(0)
        let file = Array("RIFF".utf8) + le32(body.count) + body
        let parsed = try WAVHeader.parse(file)
        #expect(WAVHeader(layoutOf: parsed) == nil)
    }

    @Test("[station] is read and checked like the other tables")
    func stationTable() throws {
        let configuration = try ConfigurationLoader.parse(
            """
            [station]
            id = "garden-01"
            latitude = 52.5
            longitude = 13
            elevation = -3.5
            make = "Acme"
            model = "Mic 2"
            serial = "SN-42"
            note = \"\"\"
            two
            lines\"\"\"
            """, path: "test.toml")
        #expect(configuration.station.id == "garden-01")
        #expect(configuration.station.latitude == 52.5 && configuration.station.longitude == 13)
        #expect(configuration.station.elevation == -3.5)
        #expect(configuration.station.note == "two\nlines")
        #expect(try ConfigurationLoader.parse("", path: "test.toml").station == StationConfiguration())

        let cases: [(String, String, String)] = [
            ("latitude = 91\nlongitude = 0", "station.latitude", "from -90 to 90"),
            ("latitude = 10", "station.latitude", "needs `longitude`"),
            ("longitude = 181\nlatitude = 0", "station.longitude", "from -180 to 180"),
            ("elevation = 20000", "station.elevation", "metres"),
            ("id = \"a b\"", "station.id", "host name"),
            ("make = \"\(String(repeating: "x", count: 65))\"", "station.make", "at most 64 bytes"),
            ("serial = \"a\\tb\"", "station.serial", "control characters"),
            ("note = \"\(String(repeating: "x", count: 257))\"", "station.note", "at most 256 bytes"),
            ("lattitude = 1", "station.lattitude", "did you mean `latitude`?"),
        ]
        for (text, key, message) in cases {
            do {
                _ = try ConfigurationLoader.parse("[station]\n" + text, path: "test.toml")
                Issue.record("accepted: \(text)")
            } catch {
                let problem = error.problems.first { $0.key == key }
                #expect(problem?.message.contains(message) == true, "\(text): \(error.problems)")
            }
        }
    }
}
