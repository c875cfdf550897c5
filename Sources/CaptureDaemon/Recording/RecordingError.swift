// Why the recording controller refused a request, as a code plus a sentence with a next step.
import CaptureCore

/// A request ``RecordingController`` refused: what kind of refusal, the recording it concerns, and a
/// sentence saying what is wrong and what to do instead.
///
/// The service knows nothing of the wire: the control API's harness (``ControlRoutes``) maps each
/// ``Code`` to an HTTP status.
public struct RecordingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of refusal. A struct rather than an enum so that new kinds never break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        private init(_ name: String) {
            self.name = name
        }

        /// A value of the request is refused (a name, directory, template or number out of range), or
        /// the request does not fit the recording (options for a configured one).
        public static let invalid = Code("invalid")
        /// No recording of that name runs or was recently stopped.
        public static let notFound = Code("not_found")
        /// The request collides with the current state: a recording of that name already runs.
        public static let conflict = Code("conflict")
        /// A configured limit is reached (`[control] max_recordings`); stopping a recording frees room.
        public static let limit = Code("limit")
        /// The request was valid but could not be carried out (a clip whose file could not be written).
        public static let failed = Code("failed")

        public var description: String { name }
    }

    public var code: Code
    /// The recording the request named.
    public var recording: String
    /// The value an ``InputValidation`` rule refused, when that was the reason.
    public var input: InputError?
    /// What is wrong and what to do, as one sentence.
    public var message: String

    public init(_ code: Code, recording: String, input: InputError? = nil, _ message: String) {
        self.code = code
        self.recording = recording
        self.input = input
        self.message = message
    }

    /// A value refused by ``InputValidation``: its own sentence, optionally followed by `hint`.
    static func invalid(_ input: InputError, recording: String, hint: String? = nil) -> Self {
        .init(.invalid, recording: recording, input: input, hint.map { "\(input); \($0)" } ?? "\(input)")
    }

    public var description: String { message }
}
