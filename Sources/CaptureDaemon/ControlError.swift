// An error of a control request: the HTTP status it maps to and a message that says what to do.

/// A refused control request.
public struct ControlError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public init(status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public static func badRequest(_ message: String) -> Self { .init(status: 400, message) }
    public static func notFound(_ message: String) -> Self { .init(status: 404, message) }
    public static func conflict(_ message: String) -> Self { .init(status: 409, message) }

    public var description: String { message }
}
