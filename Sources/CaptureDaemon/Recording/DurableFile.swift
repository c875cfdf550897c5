// Small files (sidecars, state) replaced atomically and durably: a crash leaves the old or the new, whole.
import Foundation
import SystemPackage

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
        let file = FileDescriptor(rawValue: fd)
        var failure: String? = nil
        if let code = Array(data).withUnsafeBytes({ file.writeAllOrErrno($0) }) {
            failure = "cannot write \(temporary): \(String(cString: strerror(code)))"
        }
        if failure == nil, fsync(fd) != 0 {
            failure = "cannot sync \(temporary): \(String(cString: strerror(errno)))"
        }
        if let code = file.closeOrErrno(), failure == nil {
            failure = "cannot close \(temporary): \(String(cString: strerror(code)))"
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
