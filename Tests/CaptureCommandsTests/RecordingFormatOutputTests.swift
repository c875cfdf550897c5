// `audiocap recordings` and `status` show a FORMAT column once a recording writes FLAC.

import CaptureProtocol
import Foundation
import TestSupport
import Testing

@testable import CaptureCommands

@Suite struct RecordingFormatOutputTests {
    @Test func aFormatColumnOnlyWhenARecordingIsFLAC() {
        let now = Date(timeIntervalSince1970: 1_795_309_200)
        var night = Fixtures.night
        night.format = "wav"
        #expect(!RecordingsCommand.render([night], now: now).contains("FORMAT"))
        var archive = Fixtures.night
        archive.name = "archive"
        archive.format = "flac"
        let text = RecordingsCommand.render([night, archive], now: now)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].contains("FORMAT"), "\(text)")
        #expect(lines.contains { $0.hasPrefix("archive") && $0.contains(" flac ") }, "\(text)")
        #expect(lines.contains { $0.hasPrefix("night") && $0.contains(" wav ") }, "\(text)")
    }
}
