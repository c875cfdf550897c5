// The file-system rules WAVFileWriter and PartialRepair share: free names, renames that never replace,
// directories created and made durable.
import CSystemShims
import CaptureCore
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension WAVFileWriter {
    /// A path for a new file: `desired` when neither it nor `desired.partial` exists, otherwise the
    /// first free name among `name-1.wav`, `name-2.wav`, … (the number goes before `.wav` or `.flac`, or
    /// at the end when `desired` ends in neither). Never returns the name of an existing file, but
    /// another process may create it before the caller does.
    public static func uniquePath(for desired: String) -> String {
        uniquePath(for: desired, isFree: isFree)
    }

    /// Whether neither `path` nor `path.partial` exists.
    static func isFree(_ path: String) -> Bool { !exists(path) && !exists(path + partialSuffix) }

    /// The first of `desired`, `name-1.wav`, `name-2.wav`, … for which `isFree` holds.
    static func uniquePath(for desired: String, isFree: (String) -> Bool) -> String {
        if isFree(desired) { return desired }
        let known = RecordingFormat.allCases.map { "." + $0.fileExtension }
        let extensionLength = known.first { desired.lowercased().hasSuffix($0) }?.count ?? 0
        let stem = String(desired.dropLast(extensionLength))
        let ext = String(desired.suffix(extensionLength))
        var number = 1
        while true {
            let candidate = "\(stem)-\(number)\(ext)"
            // The bound only matters when every name looks taken, e.g. an unreadable directory;
            // the caller's create or rename then fails with the real reason.
            if isFree(candidate) || number >= 1_000_000 { return candidate }
            number += 1
        }
    }

    /// Whether anything (a file, directory or dangling link) has this name; unknown counts as yes.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 || errno != ENOENT
    }

    /// Ends a finished file durably, as the writers and the crash repair do: fsyncs and closes `fd`
    /// (closed whatever happens), renames `path` to `preferredDestination` (or a free name) without
    /// replacing any file, then fsyncs the directory so the rename survives a power cut (best effort: the
    /// file is complete and named either way). Returns the name used.
    static func closeAndRename(fd: Int32, path: String, to preferredDestination: String) throws(WAVWriteError)
        -> String
    {
        if fsync(fd) != 0 {
            let code = errno
            _ = FileDescriptor(rawValue: fd).closeOrErrno()
            throw WAVWriteError(operation: .sync, path: path, errno: code)
        }
        if let closeFailure = FileDescriptor(rawValue: fd).closeOrErrno() {
            throw WAVWriteError(operation: .close, path: path, errno: closeFailure)
        }
        let destination = try moveWithoutReplacing(from: path, preferredDestination: preferredDestination)
        _ = syncDirectory(parentDirectory(of: destination))
        return destination
    }

    /// Renames `source` to `preferredDestination`, or to `uniquePath(for: preferredDestination)` when
    /// that name is taken, never replacing a file.
    ///
    /// Uses `renameat2(RENAME_NOREPLACE)`, atomic and never replacing; where the file system or kernel
    /// cannot, `link` + `unlink`, which fails instead of replacing; on file systems without hard links
    /// either, it checks the name and then renames. A crash between `link` and `unlink` leaves both
    /// names on the same file, which `PartialRepair` resolves.
    /// - Returns: the destination used.
    static func moveWithoutReplacing(
        from source: String, preferredDestination: String
    ) throws(WAVWriteError) -> String {
        var destination = preferredDestination
        var noReplaceWorks = true
        for _ in 0..<100 {
            if noReplaceWorks {
                if audiocap_rename_noreplace(source, destination) == 0 { return destination }
                let code = errno
                switch code {
                case EEXIST:
                    destination = uniquePath(for: preferredDestination)
                    continue
                case EINVAL, ENOSYS, ENOTSUP, EOPNOTSUPP, EPERM:
                    noReplaceWorks = false
                default:
                    throw WAVWriteError(operation: .rename, path: source, errno: code)
                }
            }
            if link(source, destination) == 0 {
                if unlink(source) != 0 {
                    throw WAVWriteError(operation: .rename, path: source, errno: errno)
                }
                return destination
            }
            let code = errno
            switch code {
            case EEXIST:
                destination = uniquePath(for: preferredDestination)
                continue
            case EPERM, ENOTSUP, EOPNOTSUPP, ENOSYS, EMLINK, EXDEV:
                if exists(destination) {
                    destination = uniquePath(for: preferredDestination)
                    continue
                }
                if rename(source, destination) == 0 { return destination }
                throw WAVWriteError(operation: .rename, path: source, errno: errno)
            default:
                throw WAVWriteError(operation: .rename, path: source, errno: code)
            }
        }
        throw WAVWriteError(operation: .rename, path: source, errno: EEXIST)
    }

    /// fsyncs a directory so that the names created, removed or renamed in it are on disk.
    /// - Returns: 0, or the errno of the failure.
    @discardableResult
    static func syncDirectory(_ directory: String) -> Int32 {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { _ = FileDescriptor(rawValue: fd).closeOrErrno() }
        return fsync(fd) == 0 ? 0 : errno
    }

    /// The directory part of `path` (`.` when there is none).
    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// `fdatasync` where there is one, else `fsync`. Returns 0 or -1 with `errno` set.
    static func syncData(_ fd: Int32) -> Int32 {
        #if canImport(Darwin)
            fsync(fd)
        #else
            fdatasync(fd)
        #endif
    }

    /// Creates `directory` and its missing parents with mode 0755 (less the umask).
    static func createDirectories(_ directory: String) throws(WAVWriteError) {
        var info = stat()
        if stat(directory, &info) == 0 { return }
        let parent = parentDirectory(of: directory)
        if parent != directory && parent != "." && parent != "/" {
            try createDirectories(parent)
        }
        if mkdir(directory, 0o755) != 0 {
            if errno == EEXIST { return }
            throw WAVWriteError(operation: .createDirectory, path: directory, errno: errno)
        }
        // The new directory's name on disk, so the files made in it survive a power cut.
        syncDirectory(parent == "." ? "." : parent)
    }
}
