// journald's native protocol without libsystemd: one datagram of fields per log record.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sends entries to journald over its native socket, each a list of fields (`MESSAGE`, `PRIORITY`,
/// and any others), so `journalctl FIELD=value` can select them.
///
/// An entry is one datagram of `NAME=value\n` lines; a value holding a newline goes in the binary form
/// (`NAME\n`, its length as a 64-bit little-endian integer, the value, `\n`). Thread-safe: each entry
/// is a single `sendto(2)`.
public final class JournalWriter: Sendable {
    public static let defaultSocketPath = "/run/systemd/journal/socket"

    /// Field names that journald or the log handler give a meaning of their own: metadata keys that map
    /// to one of these get the prefix `AUDIOCAP_` instead of overriding it.
    static let reservedFieldNames: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERRNO", "TID",
        "SYSLOG_FACILITY", "SYSLOG_IDENTIFIER", "SYSLOG_PID", "SYSLOG_TIMESTAMP", "SYSLOG_RAW",
        "DOCUMENTATION", "INVOCATION_ID", "USER_INVOCATION_ID", "UNIT", "USER_UNIT", "AUDIOCAP_LOGGER",
    ]

    /// Where entries go.
    public let socketPath: String
    private let fd: Int32
    // A C struct of plain values, never mutated after init: safe to read from any thread.
    private let address: sockaddr_un
    private let addressLength: socklen_t

    /// A writer for the journal socket at `socketPath`, or nil when nothing accepts connections there
    /// (journald is not running, or the path is too long for a Unix socket).
    public init?(socketPath: String = JournalWriter.defaultSocketPath) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        // Probe: a datagram socket connects only when a socket is bound at the path.
        let probe = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return nil }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, length) }
        }
        close(probe)
        guard connected == 0 else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        // Room for large entries (journald's own client asks for 8 MiB); the kernel caps it at wmem_max.
        var size: Int32 = 8 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        self.socketPath = socketPath
        self.fd = fd
        self.address = address
        self.addressLength = length
    }

    deinit { close(fd) }

    /// Whether `fd` is the stream that systemd connected to journald, as `JOURNAL_STREAM`
    /// (`device:inode`, set by systemd for a service's stdout and stderr) says.
    public static func isJournalStream(_ journalStream: String?, fd: Int32 = 2) -> Bool {
        guard let journalStream else { return false }
        let parts = journalStream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// Sends one entry with `fields` in order. Returns false when it was not sent (journald gone, or the
    /// entry too large for a datagram); the caller should then log it another way.
    public func send(_ fields: [(name: String, value: String)]) -> Bool {
        let datagram = Self.encode(fields)
        var destination = address
        let sent = withUnsafePointer(to: &destination) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                datagram.withUnsafeBytes { bytes in
                    // sendto(2) by hand: swift-system's FileDescriptor has no socket calls.
                    var result: Int
                    repeat {
                        result = sendto(
                            fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), sockaddrPointer, addressLength)
                    } while result < 0 && errno == EINTR
                    return result
                }
            }
        }
        return sent == datagram.count
    }

    /// The datagram for `fields`: `NAME=value\n` each, or the binary form when the value holds a newline.
    static func encode(_ fields: [(name: String, value: String)]) -> [UInt8] {
        var datagram: [UInt8] = []
        datagram.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 10 })
        for (name, value) in fields {
            datagram.append(contentsOf: name.utf8)
            if value.utf8.contains(UInt8(ascii: "\n")) {
                datagram.append(UInt8(ascii: "\n"))
                let count = UInt64(value.utf8.count).littleEndian
                withUnsafeBytes(of: count) { datagram.append(contentsOf: $0) }
            } else {
                datagram.append(UInt8(ascii: "="))
            }
            datagram.append(contentsOf: value.utf8)
            datagram.append(UInt8(ascii: "\n"))
        }
        return datagram
    }

    /// The journal field name for a metadata key: upper case, every character other than A–Z and 0–9
    /// turned into `_` (`recording.name` → `RECORDING_NAME`), at most 64 characters. A name that would
    /// start with `_` or a digit (which journald refuses or reserves), be empty, or collide with a field
    /// of ``reservedFieldNames`` gets the prefix `AUDIOCAP_`.
    static func fieldName(_ key: String) -> String {
        var name = ""
        name.reserveCapacity(key.utf8.count)
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): name.unicodeScalars.append(Unicode.Scalar(byte - 32))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                name.unicodeScalars.append(Unicode.Scalar(byte))
            default: name.append("_")
            }
        }
        if name.isEmpty || name.first == "_" || name.first!.isNumber || reservedFieldNames.contains(name) {
            name = "AUDIOCAP_" + name
        }
        return String(name.prefix(64))
    }
}
