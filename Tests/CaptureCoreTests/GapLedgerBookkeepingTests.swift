// GapLedger as a pure type: where gaps land, what is reported, without a writer or a file.
import CaptureCore
import Testing

@Suite struct GapLedgerBookkeepingTests {
    func gap(_ kind: SegmentGap.Kind, at time: Double, frames: Int64 = 100) -> SegmentGap {
        SegmentGap(
            kind: kind, fileFrame: 0, captureFrame: Int64(time * 1000), time: time, frames: frames,
            exact: kind == .queueOverflow)
    }

    @Test func gapsLandAtTheOpenFilesEndOrStartTheNextFileInTimeOrder() {
        var ledger = GapLedger()
        let intoFile = ledger.record(gap(.queueOverflow, at: 10), openFileFrames: 4800)
        #expect(intoFile)
        #expect(ledger.fileGaps.map(\.fileFrame) == [4800])
        // Between files: pending, for the next file, whatever order they came in.
        let xrun = ledger.record(gap(.xrun, at: 30), openFileFrames: nil)
        let restart = ledger.record(gap(.ffmpegRestart, at: 20), openFileFrames: nil)
        #expect(!xrun && !restart)
        ledger.noteLost(frame: 25_000, frames: 50, time: 25)
        ledger.noteLost(frame: 25_050, frames: 70, time: 25.05)
        let lost = ledger.fileOpened()
        #expect(lost == GapLedger.LostRange(frame: 25_000, time: 25, frames: 120))
        #expect(ledger.fileGaps.map(\.kind) == [.ffmpegRestart, .notWritten, .xrun])
        #expect(ledger.fileGaps.allSatisfy { $0.fileFrame == 0 })
        #expect(ledger.pending.isEmpty)
        #expect(ledger.count == 4)
        #expect(ledger.frames == 100 + 100 + 100 + 120)
        ledger.setLastFilled(33)
        #expect(ledger.fileGaps.last?.filledFrames == 33)
    }

    @Test func whatNoFileTakesIsHandedBackOnce() {
        var ledger = GapLedger()
        ledger.record(gap(.notWritten, at: 5), openFileFrames: nil)
        ledger.noteLost(frame: 1, frames: 10, time: 6)
        let lost = ledger.takeLost(openFileFrames: nil)
        #expect(lost?.frames == 10)
        let pending = ledger.takePending()
        #expect(pending.map(\.kind) == [.notWritten, .notWritten])
        let again = ledger.takePending()
        #expect(again.isEmpty)
        let none = ledger.takeLost(openFileFrames: nil)
        #expect(none == nil)
    }

    @Test func dropsAreReportedAtOnceThenAtMostEveryTenSeconds() {
        var ledger = GapLedger()
        let due = ledger.noteDropped(frame: 100, frames: 4800, time: 1, now: 50)
        #expect(due)
        let first = ledger.takeDrops(now: 50)
        #expect(first?.frames == 4800)
        let second = ledger.noteDropped(frame: 9000, frames: 4800, time: 2, now: 55)
        let third = ledger.noteDropped(frame: 19_000, frames: 4800, time: 3, now: 58)
        #expect(!second && !third)
        #expect(!ledger.dropReportDue(now: 59))
        #expect(ledger.dropReportDue(now: 60))
        let report = ledger.takeDrops(now: 60)
        #expect(report?.gaps == 2)
        #expect(report?.frames == 9600)
        #expect(report?.firstFrame == 9000)
        let after = ledger.takeDrops(now: 61)
        #expect(after == nil)
    }
}
