// An error of a control request as the harness answers it: an HTTP status and a message that says what to do.

/// A refused control request. Only the control API's harness (``ControlRoutes``, ``ControlServer`` and its
/// middleware) uses it; services throw their own domain errors, which ``init(_:)`` maps.
struct ControlError: Error, Sendable, CustomStringConvertible {
    var status: Int
    var message: String

    init(status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    static func badRequest(_ message: String) -> Self { .init(status: 400, message) }
    static func notFound(_ message: String) -> Self { .init(status: 404, message) }
    static func conflict(_ message: String) -> Self { .init(status: 409, message) }
    static func unavailable(_ message: String) -> Self { .init(status: 503, message) }

    /// The reply to a request the recording controller refused: 400 for an invalid value, 404 for an
    /// unknown recording, 409 for a name that runs and for `[control] max_recordings` reached (a state the
    /// caller can change by stopping one, not a rate: so 409 rather than 429). The message is the error's.
    init(_ error: RecordingError) {
        self.init(status: Self.status(for: error.code), error.message)
    }

    /// The HTTP status of a ``RecordingError/Code``; 500 for a code this harness does not know yet.
    static func status(for code: RecordingError.Code) -> Int {
        switch code {
        case .invalid: 400
        case .notFound: 404
        case .conflict, .limit: 409
        default: 500
        }
    }

    var description: String { message }
}
