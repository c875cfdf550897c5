// Tests of the hold, clear and flap limit between a detector's raw edges and the alarms people read.

import CaptureCore
import Testing

@Suite struct AlarmGateTests {
    private let rate: Int64 = 48_000

    /// Names of the outputs: `began 3` (the payload), `ended 4`, `repeated 2 active`.
    private func name(_ output: AlarmGateOutput<Int>) -> String {
        switch output {
        case .began(let p): "began \(p)"
        case .ended(let p): "ended \(p)"
        case .repeated(let count, _, let active, _): "repeated \(count)" + (active ? " active" : " clear")
        }
    }

    /// Feeds `seconds` of a condition that is present in odd seconds and absent in even ones, a chunk of
    /// 100 ms at a time; returns the outputs.
    private func flapping(_ gate: inout AlarmGate<Int>, seconds: Int) -> [String] {
        var outputs: [String] = []
        for chunk in 0..<(seconds * 10) {
            let frame = Int64(chunk) * rate / 10
            let second = chunk / 10
            if chunk % 10 == 0 {
                if second % 2 == 1 {
                    gate.rawBegan(second, since: frame)
                } else if second > 0 {
                    gate.rawEnded(second, at: frame)
                }
            }
            gate.advance(to: frame + rate / 10) { outputs.append(name($0)) }
        }
        return outputs
    }

    @Test func aConditionShorterThanTheHoldIsNotReported() {
        var gate = AlarmGate<Int>(holdFrames: 10 * rate, clearFrames: 30 * rate, flapWindowFrames: 600 * rate)
        let outputs = flapping(&gate, seconds: 600)
        #expect(outputs.isEmpty)
        #expect(!gate.isActive)
    }

    @Test func beginsAfterTheHoldAndEndsAfterTheClearTime() {
        var gate = AlarmGate<Int>(holdFrames: 10 * rate, clearFrames: 30 * rate, flapWindowFrames: 600 * rate)
        var outputs: [String] = []
        gate.rawBegan(1, since: 0)
        gate.advance(to: 9 * rate) { outputs.append(name($0)) }
        #expect(outputs.isEmpty)
        gate.advance(to: 10 * rate) { outputs.append(name($0)) }
        #expect(outputs == ["began 1"])
        // Clear for 20 s, back for 1 s: no end; then clear for 30 s: the end.
        gate.rawEnded(2, at: 20 * rate)
        gate.advance(to: 40 * rate) { outputs.append(name($0)) }
        gate.rawBegan(3, since: 40 * rate)
        gate.advance(to: 41 * rate) { outputs.append(name($0)) }
        gate.rawEnded(4, at: 41 * rate)
        gate.advance(to: 70 * rate) { outputs.append(name($0)) }
        #expect(outputs == ["began 1"])
        gate.advance(to: 71 * rate) { outputs.append(name($0)) }
        #expect(outputs == ["began 1", "ended 4"])
    }

    @Test func aHoldCountsFromWhereTheConditionStarted() {
        // A detector that already waited 30 s (silence) is not delayed by a 10 s hold.
        var gate = AlarmGate<Int>(holdFrames: 10 * rate, clearFrames: 0, flapWindowFrames: 600 * rate)
        var outputs: [String] = []
        gate.rawBegan(1, since: 0)
        gate.advance(to: 30 * rate) { outputs.append(name($0)) }
        #expect(outputs == ["began 1"])
    }

    @Test func aConditionCrossingEverySecondForTenMinutesMakesAHandfulOfEvents() {
        // Without hold and clear, only the flap limit stands between the detector and the events.
        var gate = AlarmGate<Int>(holdFrames: 0, clearFrames: 0, flapLimit: 3, flapWindowFrames: 600 * rate)
        let outputs = flapping(&gate, seconds: 1200)
        // Three begin/end pairs, then one summary per 10 min while it goes on.
        #expect(Array(outputs.prefix(6)) == ["began 1", "ended 2", "began 3", "ended 4", "began 5", "ended 6"])
        // Held back: the begins at 7, 9, … 607 s; the window that went quiet at 7.1 s closes at 607.1 s.
        #expect(Array(outputs.dropFirst(6)) == ["repeated 301 active"], "\(outputs)")
    }

    @Test func afterAQuietWindowEdgesAreReportedAgain() {
        var gate = AlarmGate<Int>(holdFrames: 0, clearFrames: 0, flapLimit: 3, flapWindowFrames: 600 * rate)
        _ = flapping(&gate, seconds: 60)
        var outputs: [String] = []
        // Clear from 60 s: the window that went quiet at 6 s ends at 606 s with a summary, the next at
        // 1206 s without one; then a begin is reported as it happens.
        gate.rawEnded(60, at: 60 * rate)
        for second in 61...1300 { gate.advance(to: Int64(second) * rate) { outputs.append(name($0)) } }
        #expect(outputs == ["repeated 27 clear"])
        gate.rawBegan(1301, since: 1301 * rate)
        gate.advance(to: 1302 * rate) { outputs.append(name($0)) }
        #expect(outputs == ["repeated 27 clear", "began 1301"])
    }
}
