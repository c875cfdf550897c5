// Small files (sidecars, state) replaced atomically and durably: a crash leaves the old or the new, whole.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes whole small files so that a crash or power cut at any moment leaves either the previous
/// contents or the new ones, never a mix or an empty file: the data goes to a temporary name in the same
/// folder, is fsync'd, renamed over the file, and the folder is fsync'd so the rename is on disk.
enum DurableFile {
    /// Replaces the file at `path` with `data`. Blocking file I/O: call it on a thread made for it.
    /// Returns nil on success, or what failed (the file is then unchanged and no temporary is left).
    @discardableResult
    static func write(_ data: some Collection<UInt8>, to path: String, mode: mode_t = 0o644) -> String? {
        let directory = WAVFileWriter.parentDirectory(of: path)
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return "cannot create \(temporary): \(String(cString: strerror(errno)))" }
        let bytes = Array(data)
        var offset = 0
        var failure: String? = nil
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                failure = "cannot write \(temporary): \(String(cString: strerror(written < 0 ? errno : EIO)))"
                break
            }
        }
        if failure == nil, fsync(fd) != 0 {
            failure = "cannot sync \(temporary): \(String(cString: strerror(errno)))"
        }
        if close(fd) != 0, failure == nil, errno != EINTR {
            failure = "cannot close \(temporary): \(String(cString: strerror(errno)))"
        }
        if failure == nil, rename(temporary, path) != 0 {
            failure = "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))"
        }
        if let failure {
            unlink(temporary)
            return failure
        }
        WAVFileWriter.syncDirectory(directory)
        return nil
    }
}
