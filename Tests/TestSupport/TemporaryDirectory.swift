// A unique scratch directory for one test, removed when the test is done.

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh, uniquely named directory that is removed with everything in it by `remove()` or when the
/// object goes away.
public final class TemporaryDirectory: Sendable {
    /// The directory's absolute path.
    public let path: String
    private let removed = Mutex(false)

    /// Creates `<parent>/<prefix>.XXXXXX` with a unique suffix (mode 0700).
    ///
    /// - Parameter parent: where to create it; nil for the system's temporary directory (`TMPDIR` or
    ///   /tmp). Pass "/tmp" when the path must stay short, e.g. for Unix socket paths (108 bytes at most).
    /// - Throws: `CocoaError` when the directory cannot be created.
    public init(prefix: String = "audiocap-test", in parent: String? = nil) throws {
        var base = parent ?? FileManager.default.temporaryDirectory.path
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            throw CocoaError(
                .fileWriteUnknown,
                userInfo: [
                    NSFilePathErrorKey: "\(base)/\(prefix).XXXXXX",
                    NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO),
                ])
        }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// The path of `name` inside the directory (nothing is created).
    public func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Removes the directory and its contents. Idempotent; errors are ignored.
    public func remove() {
        let first = removed.withLock { removed in
            defer { removed = true }
            return !removed
        }
        if first { try? FileManager.default.removeItem(atPath: path) }
    }

    deinit { remove() }
}
