// Turns the `.flac.partial` files a crash left behind into finished FLAC files.

import CaptureCore
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension PartialRepair {
    /// The suffix of a FLAC file that `FLACFileWriter` left open.
    static let flacPartialSuffix = ".flac" + WAVFileWriter.partialSuffix

    /// Repairs one `.flac.partial` file:
    ///
    /// - empty: removed, as an empty WAV file is;
    /// - not starting with a readable `fLaC` marker and `STREAMINFO`: renamed to `NAME.flac.damaged`
    ///   (never deleted);
    /// - a header but no whole frame: removed (it held no audio);
    /// - otherwise: decoded with libFLAC up to the last frame that decodes whole, cut there, its
    ///   `STREAMINFO` total samples and MD5 (of the decoded audio) rewritten, fsynced and renamed to
    ///   `NAME.flac` (or a free name, never replacing a file).
    static func repairFLAC(path: String, finalPath: String) throws(WAVWriteError) -> RepairResult {
        let directory = WAVFileWriter.parentDirectory(of: path)
        var partialInfo = stat()
        var finalInfo = stat()
        if lstat(path, &partialInfo) == 0, lstat(finalPath, &finalInfo) == 0,
            partialInfo.st_dev == finalInfo.st_dev, partialInfo.st_ino == finalInfo.st_ino
        {
            // A crash between link and unlink in the writer's close(): one finished file with both names.
            guard unlink(path) == 0 else { throw WAVWriteError(operation: .remove, path: path, errno: errno) }
            WAVFileWriter.syncDirectory(directory)
            let fd = open(finalPath, O_RDONLY | O_CLOEXEC)
            let frames = fd >= 0 ? (try? FLACFileScan.scan(fd: fd))?.frames ?? 0 : 0
            if fd >= 0 { _ = close(fd) }
            return RepairResult(
                path: finalPath, originalPath: path, frames: frames, bytesTrimmed: 0, action: .alreadyRenamed)
        }

        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw WAVWriteError(operation: .read, path: path, errno: errno) }
        var fdOpen = true
        defer { if fdOpen { _ = close(fd) } }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw WAVWriteError(operation: .read, path: path, errno: errno) }
        let fileLength = UInt64(info.st_size)
        if fileLength == 0 {
            _ = close(fd)
            fdOpen = false
            return try remove(path, directory: directory, bytesTrimmed: 0)
        }
        let scan: FLACFileScan
        do {
            scan = try FLACFileScan.scan(fd: fd)
        } catch {
            _ = close(fd)
            fdOpen = false
            return try markDamaged(
                path, finalPath: finalPath, reason: "It is not a FLAC stream audiocap can repair: \(error).")
        }
        let trimmed = fileLength - min(fileLength, scan.goodLength)
        if scan.frames == 0 {
            _ = close(fd)
            fdOpen = false
            return try remove(path, directory: directory, bytesTrimmed: fileLength)
        }
        if trimmed > 0, ftruncate(fd, off_t(scan.goodLength)) != 0 {
            throw WAVWriteError(operation: .truncate, path: path, errno: errno)
        }
        var fields = streamInfoTotals(frames: UInt64(scan.frames), md5: scan.md5)
        fields[0] |= try readStreamInfoByte(fd, path: path) & 0xF0
        if let code = fields.withUnsafeBytes({
            FileDescriptor(rawValue: fd).writeAllOrErrno($0, atOffset: Int64(streamInfoTotalsOffset))
        }) {
            throw WAVWriteError(operation: .writeHeader, path: path, errno: code)
        }
        fdOpen = false
        let destination = try WAVFileWriter.closeAndRename(fd: fd, path: path, to: finalPath)
        var result = RepairResult(
            path: destination, originalPath: path, frames: scan.frames, bytesTrimmed: trimmed, action: .repaired)
        result.format = scan.format
        result.bytes = scan.goodLength
        return result
    }

    /// Where `STREAMINFO`'s byte holding the bit depth's low bits and the top of total samples is: the
    /// `fLaC` marker (4 bytes), the block header (4), then 13 bytes of block sizes, frame sizes, rate,
    /// channels and bit depth.
    static let streamInfoTotalsOffset = 4 + 4 + 13

    /// The 21 bytes from ``streamInfoTotalsOffset``: 4 bits of bit depth (zero here, to be or'ed with the
    /// file's), the 36 bits of total samples, the 16 bytes of MD5.
    static func streamInfoTotals(frames: UInt64, md5: [UInt8]) -> [UInt8] {
        var bytes = [UInt8(truncatingIfNeeded: (frames >> 32) & 0x0F)]
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: frames >> shift)) }
        return bytes + md5
    }

    /// The byte at ``streamInfoTotalsOffset`` (its top 4 bits are the bit depth's low bits).
    private static func readStreamInfoByte(_ fd: Int32, path: String) throws(WAVWriteError) -> UInt8 {
        var byte: UInt8 = 0
        guard pread(fd, &byte, 1, off_t(streamInfoTotalsOffset)) == 1 else {
            throw WAVWriteError(operation: .read, path: path, errno: errno == 0 ? EIO : errno)
        }
        return byte
    }
}
