// Keeps the secrets of a network source's URL out of logs, status, events and metrics.

/// Masks the password of a URL's user info (`rtsp://user:secret@cam/…` → `rtsp://user:***@cam/…`) and
/// the values of query parameters that carry secrets (`srt://host:9000?passphrase=…`), and removes the
/// same secrets from any other text, such as ffmpeg's error lines, which quote the URL they failed on.
public struct CredentialMask: Sendable, Equatable {
    /// What stands in for a secret.
    public static let placeholder = "***"
    /// Query parameters whose values are secrets (compared without case).
    static let secretParameters: Set<String> = [
        "password", "passwd", "pass", "pwd", "passphrase", "secret", "token", "access_token", "key", "apikey",
        "api_key", "auth", "signature", "sig",
    ]

    /// The secrets found in the URL, longest first (so a secret that contains another is masked whole).
    public let secrets: [String]

    /// Finds the secrets in `device`; none when it is not a URL.
    public init(device: String) {
        var found: [String] = []
        if let schemeEnd = device.range(of: "://") {
            let rest = device[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    let password = String(userInfo[userInfo.index(after: colon)...])
                    if !password.isEmpty { found.append(password) }
                } else if !userInfo.isEmpty {
                    // A lone user part is often a token (`https://TOKEN@host/…`): mask it too.
                    found.append(String(userInfo))
                }
            }
            if let question = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: question)...].prefix { $0 != "#" }
                for pair in query.split(whereSeparator: { $0 == "&" || $0 == ";" }) {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, Self.secretParameters.contains(parts[0].lowercased()), !parts[1].isEmpty
                    else { continue }
                    found.append(String(parts[1]))
                }
            }
        }
        var unique: [String] = []
        for secret in found {
            unique.append(secret)
            if let decoded = Self.percentDecoded(secret), decoded != secret { unique.append(decoded) }
        }
        secrets = Array(Set(unique)).sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// Whether there is anything to mask.
    public var isEmpty: Bool { secrets.isEmpty }

    /// `text` with every secret replaced by ``placeholder``.
    public func mask(_ text: String) -> String {
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacing(secret, with: Self.placeholder)
        }
        return text
    }

    /// `device` with its secrets masked: the form status, events and logs show.
    public static func masked(_ device: String) -> String {
        CredentialMask(device: device).mask(device)
    }

    private static func percentDecoded(_ text: String) -> String? {
        guard text.contains("%") else { return nil }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
