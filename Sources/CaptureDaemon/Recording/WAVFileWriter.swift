// Writes one WAV segment so that a crash or power cut at any moment leaves a readable file.

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

/// Writes one WAV file as `finalPath + ".partial"`, and renames it to `finalPath` when it is closed.
///
/// The header has a fixed size (see `WAVHeader`), so `sync()` rewrites it in place with the sizes
/// written so far; after a crash the `.partial` file is a valid WAV file holding at least the audio
/// of the last `sync()`, and `PartialRepair` recovers the rest. Files that grow past 4 GiB get an RF64
/// header at the next `sync()` or `close()`.
///
/// With metadata, the header holds a `bext` and a GUANO chunk of fixed sizes before the data, rendered
/// once when the file is created; every header rewrite refreshes the GUANO `Length` and gap counts in
/// place (see `setGaps(count:frames:)`), so a crash leaves a file whose metadata describes the audio of the
/// last sync and a closed file's metadata describes all of it.
///
/// Blocking: every method does file system calls and must run on a dedicated thread, never on
/// Swift's shared async executors. Used by one thread at a time; not `Sendable`.
/// After `append` or `sync` throws, the file still holds whole frames and a valid header; the caller
/// may retry, `close()` or `abandon()`.
public final class WAVFileWriter {
    /// Suffix of a file that is being written (or was, when the writer crashed).
    public static let partialSuffix = ".partial"

    /// The name the file gets when it is closed (unless that name is taken by then; see `close()`).
    public let finalPath: String
    /// The name of the file while it is written: `finalPath + ".partial"`.
    public let partialPath: String
    public let format: AudioFormat
    /// Bytes of audio written so far (not counting the header).
    public private(set) var dataBytes: UInt64 = 0
    /// Whole frames written so far.
    public var frames: Int64 { Int64(dataBytes / UInt64(format.bytesPerFrame)) }

    private let header: WAVHeader
    /// The header is rendered here before each rewrite, so `sync()` does not allocate.
    private let headerBuffer: UnsafeMutableRawBufferPointer
    private var fd: Int32
    /// `dataBytes` as declared by the header on disk after the last successful sync.
    private var syncedDataBytes: UInt64 = 0
    /// The GUANO chunk inside `headerBuffer`, refreshed before each header write; nil without metadata.
    private let guano: UnsafeMutableRawBufferPointer?
    private var gaps = 0
    private var gapFrames: Int64 = 0
    /// The gap counts changed since the header on disk was written.
    private var gapsChanged = false

    /// Creates `finalPath + ".partial"` (and the missing parent directories, mode 0755) and writes the
    /// header of an empty file, with `metadata`'s `bext` and GUANO chunks when given.
    ///
    /// - Throws: `WAVWriteError` when a directory or the file cannot be created, including when the
    ///   `.partial` file already exists: the writer never replaces a file (see `uniquePath(for:)`).
    public init(finalPath: String, format: AudioFormat, metadata: SegmentMetadata? = nil) throws(WAVWriteError) {
        let partialPath = finalPath + Self.partialSuffix
        let header = WAVHeader(format: format, metadataSize: metadata == nil ? 0 : Self.metadataSize)
        try Self.createDirectories(Self.parentDirectory(of: finalPath))
        let fd = open(partialPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw WAVWriteError(operation: .create, path: partialPath, errno: errno)
        }
        // The new name on disk too, so a power cut cannot lose the file however much it holds.
        Self.syncDirectory(Self.parentDirectory(of: partialPath))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: header.headerSize, alignment: 8)
        var guano: UnsafeMutableRawBufferPointer? = nil
        if let metadata {
            let chunks = BextChunk.bytes(metadata) + GuanoChunk.bytes(metadata)
            UnsafeMutableRawBufferPointer(
                rebasing: buffer[header.metadataOffset..<header.metadataOffset + chunks.count]
            )
            .copyBytes(from: chunks)
            let start = header.metadataOffset + BextChunk.size
            guano = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<start + GuanoChunk.size])
        }
        header.write(dataBytes: 0, into: buffer)
        if let code = FileDescriptor(rawValue: fd).writeAllOrErrno(UnsafeRawBufferPointer(buffer)) {
            _ = FileDescriptor(rawValue: fd).closeOrErrno()
            unlink(partialPath)
            buffer.deallocate()
            throw WAVWriteError(operation: .writeHeader, path: partialPath, errno: code)
        }
        self.finalPath = finalPath
        self.partialPath = partialPath
        self.format = format
        self.header = header
        self.headerBuffer = buffer
        self.guano = guano
        self.fd = fd
    }

    /// Bytes of the `bext` and GUANO chunks in a header with metadata.
    public static let metadataSize = BextChunk.size + GuanoChunk.size

    /// The gaps the file holds so far (count and frames), for the GUANO `audiocap|Gaps` and
    /// `audiocap|Gap Frames` the next header rewrite (`sync()`, `close()`) writes. Does not allocate.
    public func setGaps(count: Int, frames: Int64) {
        guard count != gaps || frames != gapFrames else { return }
        gaps = count
        gapFrames = frames
        gapsChanged = true
    }

    deinit {
        abandon()
        headerBuffer.deallocate()
    }

    /// Appends all of `buffer` to the audio data, retrying on partial writes and `EINTR`. Does not
    /// allocate.
    ///
    /// - Throws: `WAVWriteError` (check `isDiskFull`). Before throwing, the writer drops a trailing
    ///   partial frame and rewrites the header for the whole frames on disk (best effort), so the file
    ///   stays valid; `dataBytes` then counts exactly those frames.
    public func append(_ buffer: UnsafeRawBufferPointer) throws(WAVWriteError) {
        guard fd >= 0 else { throw WAVWriteError(operation: .write, path: partialPath, errno: EBADF) }
        guard let base = buffer.baseAddress else { return }
        // One write at a time rather than writeAll, so `dataBytes` counts what reached the file when one fails.
        let file = FileDescriptor(rawValue: fd)
        var offset = 0
        while offset < buffer.count {
            let code: Int32
            do {
                let written = try file.write(UnsafeRawBufferPointer(start: base + offset, count: buffer.count - offset))
                if written > 0 {
                    offset += written
                    dataBytes += UInt64(written)
                    continue
                }
                code = EIO
            } catch {
                code = (error as? Errno)?.rawValue ?? EIO
            }
            rescueAfterFailure()
            throw WAVWriteError(operation: .write, path: partialPath, errno: code)
        }
    }

    /// Rewrites the header in place for the audio written so far and flushes the file to disk: first
    /// the audio, then the header, so the header on disk never declares more audio than the disk
    /// holds. Does not allocate; does nothing when nothing was appended since the last sync.
    ///
    /// - Throws: `WAVWriteError` when the header cannot be written or the disk reports an error.
    public func sync() throws(WAVWriteError) {
        guard fd >= 0 else { throw WAVWriteError(operation: .sync, path: partialPath, errno: EBADF) }
        guard dataBytes != syncedDataBytes || gapsChanged else { return }
        let declared = dataBytes
        // One fdatasync per sync: it makes the audio up to `declared` durable, and with it the header the
        // previous sync wrote. The header written now claims only audio already on disk and becomes
        // durable with the next sync (or at close): the header on disk never claims more than is there,
        // and after a power cut it trails the audio by at most one sync, which the start-up repair
        // recovers from the file's length.
        if Self.syncData(fd) != 0 {
            throw WAVWriteError(operation: .sync, path: partialPath, errno: errno)
        }
        if let code = writeHeader(dataBytes: declared) {
            throw WAVWriteError(operation: .writeHeader, path: partialPath, errno: code)
        }
        syncedDataBytes = declared
    }

    /// Finishes the file: drops a trailing partial frame, adds the RIFF pad byte after odd-sized
    /// audio, writes the final header, fsyncs and closes the file, renames it from `.partial` to its
    /// final name without replacing any file, and fsyncs the directory so the rename survives a power
    /// cut (that last step is best effort: the file is complete and named either way).
    ///
    /// - Returns: the path of the finished file: `finalPath`, or `uniquePath(for: finalPath)` when
    ///   another file took that name meanwhile.
    /// - Throws: `WAVWriteError`; the file is then closed and left as `.partial` for `PartialRepair`.
    @discardableResult
    public func close() throws(WAVWriteError) -> String {
        guard fd >= 0 else { throw WAVWriteError(operation: .close, path: partialPath, errno: EBADF) }
        let whole = header.wholeFrameBytes(dataBytes)
        let audioEnd = off_t(header.headerSize) + off_t(whole)
        if whole != dataBytes {
            if ftruncate(fd, audioEnd) != 0 {
                let error = WAVWriteError(operation: .truncate, path: partialPath, errno: errno)
                abandon()
                throw error
            }
            dataBytes = whole
        }
        if whole & 1 == 1 {
            // RIFF pads odd-sized chunks. Best effort: without it the RIFF size is one byte too large,
            // which readers accept, and on a full disk this byte may not fit.
            var pad: UInt8 = 0
            _ = pwrite(fd, &pad, 1, audioEnd)
        }
        if let code = writeHeader(dataBytes: whole) {
            abandon()
            throw WAVWriteError(operation: .writeHeader, path: partialPath, errno: code)
        }
        let file = fd
        fd = -1
        return try Self.closeAndRename(fd: file, path: partialPath, to: finalPath)
    }

    /// Closes the file without renaming it, after a best-effort header rewrite for the whole frames
    /// written; the `.partial` file stays for `PartialRepair`. For giving up after write errors.
    /// Does nothing when the file is already closed.
    public func abandon() {
        guard fd >= 0 else { return }
        _ = writeHeader(dataBytes: dataBytes)
        _ = FileDescriptor(rawValue: fd).closeOrErrno()
        fd = -1
    }

    // MARK: - Private

    /// Writes the header for `dataBytes` at offset 0 without allocating.
    /// - Returns: `nil`, or the errno of the failure.
    private func writeHeader(dataBytes: UInt64) -> Int32? {
        header.write(dataBytes: dataBytes, into: headerBuffer)
        if let guano {
            let frames = Int64(header.wholeFrameBytes(dataBytes) / UInt64(format.bytesPerFrame))
            GuanoChunk.updateLength(frames: frames, sampleRate: format.sampleRate, in: guano)
            GuanoChunk.updateGaps(count: gaps, frames: gapFrames, in: guano)
        }
        let failure = FileDescriptor(rawValue: fd).writeAllOrErrno(UnsafeRawBufferPointer(headerBuffer), atOffset: 0)
        if failure == nil { gapsChanged = false }
        return failure
    }

    /// After a failed write: cut the file back to whole frames, point the file offset at the end of
    /// them so that a retry continues the stream, and declare them in the header. Best effort.
    private func rescueAfterFailure() {
        let whole = header.wholeFrameBytes(dataBytes)
        let audioEnd = off_t(header.headerSize) + off_t(whole)
        if whole != dataBytes {
            _ = ftruncate(fd, audioEnd)
            _ = lseek(fd, audioEnd, SEEK_SET)
            dataBytes = whole
        }
        if writeHeader(dataBytes: whole) == nil, Self.syncData(fd) == 0 {
            syncedDataBytes = whole
        }
    }
}

/// A file system call of `WAVFileWriter` or `PartialRepair` failed.
public struct WAVWriteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was being done.
    public enum Operation: String, Sendable, Hashable {
        case createDirectory = "create the directory"
        case create = "create"
        case write = "write audio to"
        case writeHeader = "write the header of"
        case truncate = "truncate"
        case sync = "flush to disk"
        case close = "close"
        case rename = "rename"
        case read = "read"
        case remove = "remove"
    }

    public var operation: Operation
    /// The file or directory concerned.
    public var path: String
    /// The `errno` the system call reported.
    public var errno: Int32
    /// The system's text for `errno`, followed by what to do about it.
    public var message: String

    /// - Parameter message: defaults to the system's text for `errno` and a next step.
    public init(operation: Operation, path: String, errno: Int32, message: String? = nil) {
        self.operation = operation
        self.path = path
        self.errno = errno
        self.message = message ?? Self.defaultMessage(operation: operation, errno: errno)
    }

    /// The disk or the user's quota is full (`ENOSPC`, `EDQUOT`).
    public var isDiskFull: Bool { errno == ENOSPC || errno == EDQUOT }

    public var description: String { "Could not \(operation.rawValue) \(path): \(message)" }

    private static func defaultMessage(operation: Operation, errno code: Int32) -> String {
        let text = String(cString: strerror(code))
        let hint: String
        switch code {
        case ENOSPC, EDQUOT:
            hint = "free space on the disk (or raise the quota), or record to another disk"
        case EACCES, EPERM:
            hint = "check the owner and permissions of the directory"
        case EROFS:
            hint = "the file system is mounted read-only; remount it read-write or record elsewhere"
        case EEXIST where operation == .create:
            hint = "a file by that name exists already; the writer never replaces files"
        case EIO:
            hint = "the disk reported an I/O error; check the kernel log (dmesg) and the disk"
        case EBADF:
            hint = "the file was closed already"
        default:
            hint = ""
        }
        return hint.isEmpty ? "\(text) (errno \(code))." : "\(text) (errno \(code)); \(hint)."
    }
}
