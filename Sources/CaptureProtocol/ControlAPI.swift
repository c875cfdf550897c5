// The control API's paths and version: HTTP/1.1 with JSON bodies over a Unix domain socket.

/// Paths of the control API. Every path is versioned; a breaking change gets a new prefix.
public enum ControlAPI {
    public static let version = "v1"
    public static let defaultSocketPath = "/run/audiocap/control.sock"
    /// Largest request body accepted, in bytes.
    public static let maximumBodyBytes = 64 * 1024

    public static let status = "/v1/status"
    public static let recordings = "/v1/recordings"
    public static func recording(_ name: String) -> String { "/v1/recordings/\(name)" }
    public static func segments(_ name: String) -> String { "/v1/recordings/\(name)/segments" }
    public static let levels = "/v1/levels"
    public static let events = "/v1/events"
    public static let uploads = "/v1/uploads"
    public static let reload = "/v1/reload"
    public static let clips = "/v1/clips"
    public static let triggers = "/v1/triggers"
}
