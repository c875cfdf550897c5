// One daemon per state directory: an exclusive lock taken before anything touches the recordings.
import Foundation
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive `flock` on `audiocapd.lock` in `[storage] state`, held for the life of the process (the
/// kernel drops it when the process ends, however it ends). The file holds the holder's PID, so a second
/// daemon started with the same configuration can say which one runs, and exits before its start-up
/// repair could touch the running daemon's open `.partial` files.
public final class InstanceLock: Sendable {
    /// Why the lock could not be taken.
    public struct Failure: Error, CustomStringConvertible {
        /// The lock file.
        public var path: String
        /// The PID of the daemon holding it, when the file says.
        public var holder: Int32?
        /// Set when the file could not be opened or created at all (a system error, not another daemon).
        public var systemError: String?

        public var description: String {
            if let systemError {
                return
                    "cannot open the instance lock \(path): \(systemError); check that [storage] state is a writable folder"
            }
            let who = holder.map { "another audiocapd (PID \($0))" } ?? "another audiocapd"
            return "\(who) is already running with this state folder (it holds \(path)); "
                + "stop it first (`systemctl stop audiocapd`, or `kill \(holder.map(String.init) ?? "PID")`), "
                + "or give this one another [storage] state"
        }
    }

    /// sysexits EX_TEMPFAIL: the other daemon may stop later.
    public static let busyExitCode: Int32 = 75

    public let path: String
    private let fd: Int32

    /// Takes the lock in `stateDirectory` (created, mode 0750, when missing). Throws ``Failure`` when
    /// another process holds it or the file cannot be opened. Blocking file I/O, once at start.
    public init(stateDirectory: String) throws(Failure) {
        path = stateDirectory + "/audiocapd.lock"
        try? FileManager.default.createDirectory(
            atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw Failure(path: path, holder: nil, systemError: String(cString: strerror(errno)))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.readPID(fd)
            close(fd)
            throw Failure(path: path, holder: holder, systemError: nil)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { FileDescriptor(rawValue: fd).writeAllOrErrno($0, atOffset: 0) }
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Int32(text).flatMap { $0 > 0 ? $0 : nil }
    }
}
