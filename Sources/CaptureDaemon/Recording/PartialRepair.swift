// Turns the `.wav.partial` (and `.flac.partial`) files a crash left behind into finished files.

import CaptureCore
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Recovers the `*.wav.partial` files that `WAVFileWriter` leaves when the daemon dies before closing
/// them.
///
/// Every byte of audio on disk is kept: the sizes come from the file length, not from the header
/// (which only describes the audio of the last sync). Run it before any writer starts in the
/// directory: a file being written must not be repaired under its writer.
///
/// Blocking: file system calls only; run on a dedicated thread.
public struct PartialRepair: Sendable {
    /// How much of a file is read to find its header.
    static let headerReadLimit = 64 * 1024

    /// Repairs every `*.wav.partial` and `*.flac.partial` file in `directory` and its subdirectories
    /// (symbolic links are not followed; FLAC files as `repairFLAC(path:finalPath:)` says). Never throws: each file's outcome, including failures, is in its result.
    ///
    /// - Returns: one result per `.partial` file found, sorted by original path; empty when the
    ///   directory does not exist.
    public static func repairAll(under directory: String) -> [RepairResult] {
        var partials: [String] = []
        collectPartials(in: directory, into: &partials, depth: 0)
        return partials.sorted().map { path in
            // Its last write time, before the repair touches it: when its audio ended.
            var info = stat()
            let modified =
                stat(path, &info) == 0 ? Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9 : nil
            var result = repair(path: path)
            result.lastModified = modified
            return result
        }
    }

    /// Repairs one `.wav.partial` file (see `RepairResult.Action` for the outcomes):
    ///
    /// - no audio (an empty file, or a readable header followed by zero whole frames): removed;
    /// - a header that cannot be read (a truncated one included), or not laid out as `WAVFileWriter`
    ///   writes it: renamed to `NAME.wav.damaged` (never deleted);
    /// - otherwise: the trailing partial frame is cut off, the header rewritten for all the whole
    ///   frames in the file (RF64 past 4 GiB; its `bext` and GUANO chunks kept, the GUANO `Length` set to
    ///   the frames kept), the file fsynced and renamed to `NAME.wav`, or to a
    ///   free name from `WAVFileWriter.uniquePath(for:)` when `NAME.wav` exists (a file that already has
    ///   both names after a crash during `close()` just loses its `.partial` name).
    ///
    /// The directory is fsynced after a rename or removal.
    public static func repair(path: String) -> RepairResult {
        let finalPath =
            path.hasSuffix(WAVFileWriter.partialSuffix)
            ? String(path.dropLast(WAVFileWriter.partialSuffix.count)) : path
        do {
            if path.hasSuffix(flacPartialSuffix) { return try repairFLAC(path: path, finalPath: finalPath) }
            return try repair(path: path, finalPath: finalPath)
        } catch {
            return RepairResult(
                path: path, originalPath: path, frames: 0, bytesTrimmed: 0, action: .failed(error.description))
        }
    }

    // MARK: - Private

    private static func repair(path: String, finalPath: String) throws(WAVWriteError) -> RepairResult {
        let directory = WAVFileWriter.parentDirectory(of: path)

        // A crash between link and unlink in WAVFileWriter.close() leaves one file with both names.
        var partialInfo = stat()
        var finalInfo = stat()
        if lstat(path, &partialInfo) == 0, lstat(finalPath, &finalInfo) == 0,
            partialInfo.st_dev == finalInfo.st_dev, partialInfo.st_ino == finalInfo.st_ino
        {
            guard unlink(path) == 0 else { throw WAVWriteError(operation: .remove, path: path, errno: errno) }
            WAVFileWriter.syncDirectory(directory)
            return RepairResult(
                path: finalPath, originalPath: path, frames: framesIn(finalPath), bytesTrimmed: 0,
                action: .alreadyRenamed)
        }

        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw WAVWriteError(operation: .read, path: path, errno: errno) }
        var fdOpen = true
        defer { if fdOpen { _ = close(fd) } }

        var info = stat()
        guard fstat(fd, &info) == 0 else { throw WAVWriteError(operation: .read, path: path, errno: errno) }
        let fileLength = UInt64(info.st_size)
        let head = try readHead(fd, path: path, length: fileLength)

        let parsed: ParsedWAV
        do {
            parsed = try WAVHeader.parse(head)
        } catch {
            if fileLength == 0 {
                // Nothing was written: there is nothing to keep. Anything else that cannot be parsed
                // is kept as damaged, never deleted: its bytes may still be audio someone can recover.
                _ = close(fd)
                fdOpen = false
                return try remove(path, directory: directory, bytesTrimmed: fileLength)
            }
            _ = close(fd)
            fdOpen = false
            return try markDamaged(path, finalPath: finalPath, reason: error.description)
        }

        guard let header = WAVHeader(layoutOf: parsed), head.count >= header.headerSize else {
            _ = close(fd)
            fdOpen = false
            return try markDamaged(
                path, finalPath: finalPath,
                reason: "The audio starts at byte \(parsed.dataOffset), but its chunks before the audio are not"
                    + " laid out as audiocap writes them, so the file was not written by audiocap.")
        }

        let audioBytes = fileLength > UInt64(parsed.dataOffset) ? fileLength - UInt64(parsed.dataOffset) : 0
        let whole = header.wholeFrameBytes(audioBytes)
        let trimmed = audioBytes - whole
        if whole == 0 {
            _ = close(fd)
            fdOpen = false
            return try remove(path, directory: directory, bytesTrimmed: trimmed)
        }

        let audioEnd = off_t(parsed.dataOffset) + off_t(whole)
        if trimmed > 0, ftruncate(fd, audioEnd) != 0 {
            throw WAVWriteError(operation: .truncate, path: path, errno: errno)
        }
        if whole & 1 == 1 {
            // The pad byte RIFF asks for after an odd-sized chunk; the header counts it.
            var pad: UInt8 = 0
            guard pwrite(fd, &pad, 1, audioEnd) == 1 else {
                throw WAVWriteError(operation: .write, path: path, errno: errno)
            }
        }
        // The header as on disk (its metadata chunks kept), with the sizes and the GUANO length of all the
        // whole frames.
        var bytes = Array(head[..<header.headerSize])
        bytes.withUnsafeMutableBytes { buffer in
            header.write(dataBytes: whole, into: buffer)
            if let guano = parsed.chunk("guan"), guano.offset + guano.size <= header.headerSize {
                let frames = Int64(whole / UInt64(parsed.format.bytesPerFrame))
                GuanoChunk.updateLength(
                    frames: frames, sampleRate: parsed.format.sampleRate,
                    in: UnsafeMutableRawBufferPointer(rebasing: buffer[guano.offset - 8..<guano.offset + guano.size]))
            }
        }
        if let code = bytes.withUnsafeBytes({ FileDescriptor(rawValue: fd).writeAllOrErrno($0, atOffset: 0) }) {
            throw WAVWriteError(operation: .writeHeader, path: path, errno: code)
        }
        fdOpen = false
        let destination = try WAVFileWriter.closeAndRename(fd: fd, path: path, to: finalPath)
        var result = RepairResult(
            path: destination, originalPath: path, frames: Int64(whole / UInt64(parsed.format.bytesPerFrame)),
            bytesTrimmed: trimmed, action: .repaired)
        result.format = parsed.format
        result.bytes = UInt64(audioEnd) + whole & 1
        return result
    }

    /// Reads up to `headerReadLimit` bytes from the start of the file.
    private static func readHead(_ fd: Int32, path: String, length: UInt64) throws(WAVWriteError) -> [UInt8] {
        let count = Int(min(length, UInt64(headerReadLimit)))
        var head = [UInt8](repeating: 0, count: count)
        var offset = 0
        let file = FileDescriptor(rawValue: fd)
        let failure: Int32? = head.withUnsafeMutableBytes { buffer in
            while offset < count {
                do {
                    let got = try file.read(
                        fromAbsoluteOffset: Int64(offset),
                        into: UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]))
                    if got == 0 { return nil }  // shorter than fstat said: it shrank meanwhile
                    offset += got
                } catch {
                    return (error as? Errno)?.rawValue ?? EIO
                }
            }
            return nil
        }
        if let failure { throw WAVWriteError(operation: .read, path: path, errno: failure) }
        return Array(head[..<offset])
    }

    static func remove(_ path: String, directory: String, bytesTrimmed: UInt64) throws(WAVWriteError)
        -> RepairResult
    {
        guard unlink(path) == 0 else { throw WAVWriteError(operation: .remove, path: path, errno: errno) }
        WAVFileWriter.syncDirectory(directory)
        return RepairResult(
            path: path, originalPath: path, frames: 0, bytesTrimmed: bytesTrimmed, action: .removedEmpty)
    }

    static func markDamaged(_ path: String, finalPath: String, reason: String) throws(WAVWriteError)
        -> RepairResult
    {
        let destination =
            WAVFileWriter.uniquePath(
                for: finalPath, isFree: { !WAVFileWriter.exists($0 + damagedSuffix) }) + damagedSuffix
        guard !WAVFileWriter.exists(destination), rename(path, destination) == 0 else {
            throw WAVWriteError(
                operation: .rename, path: path, errno: WAVFileWriter.exists(destination) ? EEXIST : errno)
        }
        WAVFileWriter.syncDirectory(WAVFileWriter.parentDirectory(of: path))
        return RepairResult(
            path: destination, originalPath: path, frames: 0, bytesTrimmed: 0, action: .markedDamaged(reason))
    }

    /// Whole frames in a finished file, from its length; 0 when it cannot be read.
    private static func framesIn(_ path: String) -> Int64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { _ = close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, let head = try? readHead(fd, path: path, length: UInt64(info.st_size)),
            let parsed = try? WAVHeader.parse(head), UInt64(info.st_size) >= UInt64(parsed.dataOffset)
        else { return 0 }
        let audio = min(UInt64(info.st_size) - UInt64(parsed.dataOffset), parsed.declaredDataSize)
        return Int64(audio / UInt64(parsed.format.bytesPerFrame))
    }

    private static func collectPartials(in directory: String, into paths: inout [String], depth: Int) {
        guard depth < 64, let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                collectPartials(in: path, into: &paths, depth: depth + 1)
            case S_IFREG
            where name.hasSuffix(".wav" + WAVFileWriter.partialSuffix) || name.hasSuffix(flacPartialSuffix):
                paths.append(path)
            default:
                continue
            }
        }
    }

    private static let damagedSuffix = ".damaged"
}

/// What `PartialRepair` did with one `.wav.partial` file.
public struct RepairResult: Sendable, Hashable, CustomStringConvertible {
    public enum Action: Sendable, Hashable {
        /// Header rewritten from the file length and renamed to `path`.
        case repaired
        /// No audio in the file: deleted.
        case removedEmpty
        /// The header could not be read: renamed to `path` (`….wav.damaged`) and left alone.
        case markedDamaged(String)
        /// The file already had its final name too (crash during close): the `.partial` name was removed.
        case alreadyRenamed
        /// A file system call failed; the file is where it was.
        case failed(String)
    }

    /// Where the file is now (for a removed file: where it was).
    public var path: String
    /// When the `.partial` file was last written (seconds since the epoch), read before the repair.
    public var lastModified: Double?
    /// The `.wav.partial` path that was found.
    public var originalPath: String
    /// Whole frames the file holds now.
    public var frames: Int64
    /// Bytes cut off the end (a trailing partial frame), or the length of a removed file.
    public var bytesTrimmed: UInt64
    public var action: Action
    /// The audio format of a repaired file, and its size now.
    public var format: AudioFormat?
    public var bytes: UInt64 = 0

    public init(path: String, originalPath: String, frames: Int64, bytesTrimmed: UInt64, action: Action) {
        self.path = path
        self.originalPath = originalPath
        self.frames = frames
        self.bytesTrimmed = bytesTrimmed
        self.action = action
    }

    public var description: String {
        switch action {
        case .repaired: "Repaired \(originalPath) as \(path): \(frames) frames, \(bytesTrimmed) bytes trimmed."
        case .removedEmpty: "Removed \(originalPath): it held no audio."
        case .markedDamaged(let reason): "Renamed \(originalPath) to \(path): \(reason)"
        case .alreadyRenamed: "Removed the name \(originalPath): the file is complete as \(path)."
        case .failed(let reason): "Could not repair \(originalPath): \(reason)"
        }
    }
}
