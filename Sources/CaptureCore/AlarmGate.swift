// Turns the raw begin and end of a sound-health condition into alarms a person can read: held, cleared, and
// limited when they flap.

/// What an ``AlarmGate`` reports.
public enum AlarmGateOutput<Payload: Sendable>: Sendable {
    /// The alarm begins: its condition has held for the hold time. `Payload` is the raw begin.
    case began(Payload)
    /// The alarm ends: its condition has been clear for the clear time. `Payload` is the raw end.
    case ended(Payload)
    /// The alarm flapped: over the last flap window it began `count` times without each being reported.
    /// `active` is whether it is in progress now; `last` is the newest raw edge.
    case repeated(count: Int, windowFrames: Int64, active: Bool, last: Payload)
}

/// One alarm's state between a detector's raw edges and the events a person reads.
///
/// - **Hold**: a raw begin becomes an alarm only once the condition has lasted `holdFrames`, counted from
///   the frame where the detector says the condition started (so a detector that already waits longer, such
///   as silence after 30 s, is not delayed further). A raw end before that forgets it.
/// - **Clear**: an alarm in progress ends only once its condition has been clear for `clearFrames`, counted
///   from the raw end; a raw begin before that keeps the alarm going without an event.
/// - **Flap limit**: when an alarm has begun `flapLimit` times within `flapWindowFrames`, further begins and
///   ends are not reported; when the window that started with the first held-back begin closes, one
///   `.repeated` output gives how many begins were held back and whether the alarm is in progress. The gate
///   stays quiet for window after window while the alarm keeps changing, and reports edges again after a
///   whole window without one.
///
/// Frames are the capture's frame numbers and must not go backwards. Storage is allocated in `init`: the
/// updates allocate nothing.
public struct AlarmGate<Payload: Sendable>: Sendable {
    public let holdFrames: Int64
    public let clearFrames: Int64
    public let flapLimit: Int
    public let flapWindowFrames: Int64

    /// Whether the alarm is in progress as the reader of the events knows it (or will at the next summary).
    public private(set) var isActive = false
    /// The raw edge that would change ``isActive`` once held (or cleared) long enough, and where its
    /// condition started.
    private var pending: (payload: Payload, frame: Int64)?
    private var last: Payload?
    /// Frames at which reported alarms began, oldest first, at most `flapLimit`.
    private var begins: [Int64]
    /// While flapping: where the current quiet window started, and the begins and edges held back in it.
    private var quietSince: Int64?
    private var heldBackBegins = 0
    private var heldBackEdges = 0

    /// A gate holding begins for `holdFrames` (≥ 0), ends for `clearFrames` (≥ 0), going quiet after
    /// `flapLimit` (≥ 1) begins within `flapWindowFrames` (≥ 1).
    public init(holdFrames: Int64, clearFrames: Int64, flapLimit: Int = 3, flapWindowFrames: Int64) {
        precondition(holdFrames >= 0 && clearFrames >= 0, "hold and clear times must be ≥ 0")
        precondition(flapLimit >= 1 && flapWindowFrames >= 1, "a flap limit needs a count and a window")
        self.holdFrames = holdFrames
        self.clearFrames = clearFrames
        self.flapLimit = flapLimit
        self.flapWindowFrames = flapWindowFrames
        begins = []
        begins.reserveCapacity(flapLimit + 1)
    }

    /// The detector found the condition: it started at frame `since`. Call ``advance(to:report:)`` after.
    public mutating func rawBegan(_ payload: Payload, since: Int64) {
        last = payload
        pending = isActive ? nil : (payload, since)
    }

    /// The detector found the condition gone at frame `at`. Call ``advance(to:report:)`` after.
    public mutating func rawEnded(_ payload: Payload, at: Int64) {
        last = payload
        pending = isActive ? (payload, at) : nil
    }

    /// Forgets the condition without reporting anything (a new timeline after a capture restart). An
    /// alarm in progress stays in progress until a raw end clears it.
    public mutating func cancelPending() {
        pending = nil
    }

    /// Reports what has become due by frame `now` (the end of the newest audio): at most one edge and at
    /// most one summary.
    public mutating func advance(to now: Int64, report: (AlarmGateOutput<Payload>) -> Void) {
        if let (payload, frame) = pending, now - frame >= (isActive ? clearFrames : holdFrames) {
            pending = nil
            isActive.toggle()
            if isActive {
                while let first = begins.first, now - first >= flapWindowFrames { begins.removeFirst() }
                if quietSince == nil, begins.count >= flapLimit { quietSince = now }
                if quietSince != nil {
                    heldBackBegins += 1
                    heldBackEdges += 1
                } else {
                    begins.append(now)
                    report(.began(payload))
                }
            } else if quietSince != nil {
                heldBackEdges += 1
            } else {
                report(.ended(payload))
            }
        }
        if let since = quietSince, now - since >= flapWindowFrames {
            if heldBackEdges == 0 {
                quietSince = nil
                begins.removeAll(keepingCapacity: true)
            } else {
                if let last {
                    report(
                        .repeated(count: heldBackBegins, windowFrames: flapWindowFrames, active: isActive, last: last))
                }
                quietSince = now
            }
            heldBackBegins = 0
            heldBackEdges = 0
        }
    }
}
