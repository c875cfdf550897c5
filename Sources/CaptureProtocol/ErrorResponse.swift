// The body of every error reply.

/// `{"error": {"status": 409, "message": "..."}}`
public struct ErrorResponse: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var status: Int
        public var message: String
    }
    public var error: Detail

    public init(status: Int, message: String) {
        error = Detail(status: status, message: message)
    }
}
