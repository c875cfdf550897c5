// A segment whose name is taken by anything (a file, a folder, a dangling link) goes to the next free name.
import CaptureCore
import Foundation
import TestSupport
import Testing

@testable import CaptureDaemon

extension SegmentWriterTests {
    @Test func aNameTakenByAFolderOrADanglingLinkMovesToTheNextFreeName() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 60
        recording.filename = "same.wav"
        try FileManager.default.createDirectory(atPath: dir.path + "/same.wav", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(
            atPath: dir.path + "/same-1.wav.partial", withDestinationPath: dir.path + "/nowhere")
        let (files, events) = run(recording: recording, chunks: 2, chunkFrames: 4800, startTime: 1_000_000)
        #expect(files == [dir.path + "/same-2.wav"])
        #expect(try frames(of: dir.path + "/same-2.wav") == 9600)
        #expect(!events.contains { $0.level >= .warning }, "\(events.map(\.kind))")
    }

    @Test func aSequenceNumberTakenByAFolderIsSkipped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 1
        recording.align = .samples
        recording.filename = "{seq}.wav"
        try FileManager.default.createDirectory(atPath: dir.path + "/000001.wav", withIntermediateDirectories: false)
        let (files, events) = run(recording: recording, chunks: 10, chunkFrames: 4800, startTime: 1_000_000)
        #expect(files.map { ($0 as NSString).lastPathComponent } == ["000002.wav"])
        #expect(!events.contains { $0.level >= .warning }, "\(events.map(\.kind))")
    }
}
