// Writes one FLAC segment with libFLAC, streaming, so that a crash at any moment leaves a repairable file.

import CFLAC
import CaptureCore
import CaptureProtocol
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes one FLAC file as `finalPath + ".partial"`, and renames it to `finalPath` when it is closed.
///
/// libFLAC's stream encoder writes through callbacks into this writer's own file descriptor: the
/// `fLaC` marker, `STREAMINFO` (total samples 0, "unknown", and no MD5 until the close) and a Vorbis
/// comment block (written once, so it holds only what is known when the file opens) at the start, then each FLAC frame as soon as the encoder has a whole block. `sync()`
/// fdatasyncs what libFLAC has written, always whole frames; after a crash `PartialRepair` cuts a
/// `.partial` file to its last whole frame and fills in `STREAMINFO`. `close()` lets libFLAC encode the
/// last block and seek back to rewrite `STREAMINFO` with the exact total samples and the MD5 of the
/// audio, then fsyncs and renames the file.
///
/// s16, s24 and s32 become FLAC's 16, 24 and 32 bits per sample, bit-exact; f32 has no FLAC form (the
/// configuration refuses it). The samples are converted into a buffer allocated once: `append` does not
/// allocate.
///
/// Blocking: every method does file system calls and CPU work and must run on a dedicated thread, never
/// on Swift's shared async executors. Used by one thread at a time; not `Sendable`.
public final class FLACFileWriter {
    /// What goes into the file's Vorbis comment block.
    public struct Tags: Sendable, Equatable {
        /// `AUDIOCAP_RECORDING`: the recording's name.
        public var recording: String
        /// Wall time of the first frame, seconds since the epoch: `DATE` (RFC 3339 UTC) and
        /// `TIME_REFERENCE` (samples since midnight UTC).
        public var startTime: Double
        /// `AUDIOCAP_STATION`, `AUDIOCAP_SOURCE`, `AUDIOCAP_FIRST_FRAME` (the capture frame of the file's
        /// first frame), each when known.
        public var station: String?
        public var source: String?
        public var firstFrame: Int64?
        /// The segment's metadata, when known: its GUANO fields follow under their GUANO names
        /// (`GUANO|Version`, `Timestamp`, `Samplerate`, …, `audiocap|First Frame`), all but those known
        /// only at close (``SegmentMetadata/guanoKeysKnownAtClose``: `Length` and the gap counts).
        public var metadata: SegmentMetadata?

        public init(
            recording: String, startTime: Double, station: String? = nil, source: String? = nil,
            firstFrame: Int64? = nil, metadata: SegmentMetadata? = nil
        ) {
            self.recording = recording
            self.startTime = startTime
            self.station = station
            self.source = source
            self.firstFrame = firstFrame
            self.metadata = metadata
        }

        /// The facts a segment's metadata holds that Vorbis comments carry: the same as a WAV file's
        /// `bext` and GUANO chunks, less what is known only when the file closes.
        public init(_ metadata: SegmentMetadata) {
            self.init(
                recording: metadata.recording, startTime: metadata.startTime, station: metadata.stationID,
                source: metadata.source, firstFrame: metadata.firstFrame, metadata: metadata)
        }

        /// `NAME=value` pairs, in file order.
        func comments(sampleRate: Int) -> [(String, String)] {
            let midnight = (startTime / 86_400).rounded(.down) * 86_400
            let reference = Int64(((startTime - midnight) * Double(sampleRate)).rounded())
            var comments = [
                ("ENCODER", "audiocap"),
                ("DATE", WireFormat.utc(startTime)),
                ("TIME_REFERENCE", String(max(0, reference))),
                ("AUDIOCAP_RECORDING", recording),
            ]
            if let station, !station.isEmpty { comments.append(("AUDIOCAP_STATION", station)) }
            if let source, !source.isEmpty { comments.append(("AUDIOCAP_SOURCE", source)) }
            if let firstFrame { comments.append(("AUDIOCAP_FIRST_FRAME", String(firstFrame))) }
            // GUANO's keys are ASCII without '=' ("GUANO|Version", "Loc Position"): valid Vorbis names.
            if let metadata { comments += metadata.guanoFieldsKnownAtOpen.map { ($0.key, $0.value) } }
            return comments
        }
    }

    /// The compression levels libFLAC offers (`flac -0` … `flac -8`).
    public static let levels = 0...8

    public let finalPath: String
    /// The name of the file while it is written: `finalPath + ".partial"`.
    public let partialPath: String
    public let format: AudioFormat
    /// Frames handed to the encoder so far (up to one block of them is not in the file yet).
    public private(set) var frames: Int64 = 0
    /// Bytes of the FLAC stream in the file so far (metadata and whole frames).
    public var dataBytes: UInt64 { UInt64(length) }

    private var fd: Int32
    private let encoder: UnsafeMutablePointer<FLAC__StreamEncoder>
    private var comments: UnsafeMutablePointer<FLAC__StreamMetadata>?
    private var metadataList: UnsafeMutablePointer<UnsafeMutablePointer<FLAC__StreamMetadata>?>
    /// Interleaved samples for the encoder, allocated once.
    private let samples: UnsafeMutablePointer<Int32>
    private let samplesFrames: Int
    /// Where the encoder's next write goes, and how long the file is.
    private var position: Int64 = 0
    private var length: Int64 = 0
    /// The errno of the first failed write; the encoder cannot go on after one.
    private var writeFailure: Int32?
    private var lengthSynced: Int64 = 0

    /// Creates `finalPath + ".partial"` (and the missing parent directories) and writes the FLAC
    /// header: `STREAMINFO` and a Vorbis comment block from `tags`.
    ///
    /// - Parameter level: libFLAC's compression level, 0 (fastest) to 8 (smallest); clamped.
    /// - Throws: `WAVWriteError` when a directory or the file cannot be created (including when the
    ///   `.partial` file exists already: the writer never replaces a file), when the header cannot be
    ///   written, or when libFLAC refuses the format (`f32`).
    public init(finalPath: String, format: AudioFormat, level: Int = 5, tags: Tags) throws(WAVWriteError) {
        let partialPath = finalPath + WAVFileWriter.partialSuffix
        guard !format.sampleFormat.isFloat, let encoder = FLAC__stream_encoder_new() else {
            throw WAVWriteError(
                operation: .create, path: partialPath, errno: EINVAL,
                message: "FLAC holds integer samples only; record f32 as WAV (format = \"wav\").")
        }
        self.finalPath = finalPath
        self.partialPath = partialPath
        self.format = format
        self.encoder = encoder
        self.samplesFrames = 4096
        self.samples = .allocate(capacity: samplesFrames * format.channels)
        self.metadataList = .allocate(capacity: 1)
        self.fd = -1

        let bits = format.sampleFormat.bitsPerSample
        FLAC__stream_encoder_set_channels(encoder, UInt32(format.channels))
        FLAC__stream_encoder_set_bits_per_sample(encoder, UInt32(bits))
        FLAC__stream_encoder_set_sample_rate(encoder, UInt32(format.sampleRate))
        FLAC__stream_encoder_set_compression_level(encoder, UInt32(min(max(level, Self.levels.lowerBound), 8)))
        // The FLAC subset stops at 24 bits; 32-bit files are valid FLAC outside it.
        FLAC__stream_encoder_set_streamable_subset(encoder, bits <= 24 ? 1 : 0)
        FLAC__stream_encoder_set_total_samples_estimate(encoder, 0)
        comments = FLAC__metadata_object_new(FLAC__METADATA_TYPE_VORBIS_COMMENT)
        if let comments {
            for (name, value) in tags.comments(sampleRate: format.sampleRate) {
                var entry = FLAC__StreamMetadata_VorbisComment_Entry()
                if FLAC__metadata_object_vorbiscomment_entry_from_name_value_pair(&entry, name, value) != 0 {
                    // copy 0: the block takes the entry's memory.
                    FLAC__metadata_object_vorbiscomment_append_comment(comments, entry, 0)
                }
            }
            metadataList[0] = comments
            FLAC__stream_encoder_set_metadata(encoder, metadataList, 1)
        }

        try WAVFileWriter.createDirectories(WAVFileWriter.parentDirectory(of: finalPath))
        fd = open(partialPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw WAVWriteError(operation: .create, path: partialPath, errno: errno)
        }
        // The new name on disk too, so a power cut cannot lose the file however much it holds.
        WAVFileWriter.syncDirectory(WAVFileWriter.parentDirectory(of: partialPath))
        let status = FLAC__stream_encoder_init_stream(
            encoder, Self.writeCallback, Self.seekCallback, Self.tellCallback, nil,
            Unmanaged.passUnretained(self).toOpaque())
        guard status == FLAC__STREAM_ENCODER_INIT_STATUS_OK else {
            let code = writeFailure ?? EIO
            let message =
                writeFailure == nil
                ? "libFLAC cannot encode this format (\(Self.stateText(encoder))); check sample_rate and channels."
                : nil
            _ = FileDescriptor(rawValue: fd).closeOrErrno()
            fd = -1
            unlink(partialPath)
            throw WAVWriteError(operation: .writeHeader, path: partialPath, errno: code, message: message)
        }
    }

    deinit {
        abandon()
        FLAC__stream_encoder_delete(encoder)
        if let comments { FLAC__metadata_object_delete(comments) }
        metadataList.deallocate()
        samples.deallocate()
    }

    /// Encodes all of `buffer` (whole frames of the recording's format). libFLAC writes each block
    /// of 4096 frames (at level 5) when it is full. Does not allocate.
    ///
    /// - Throws: `WAVWriteError` (check `isDiskFull`) when a write fails. The encoder cannot go on:
    ///   `frames` stays as before the call, and only `close()` (which then repairs the file) or
    ///   `abandon()` may follow.
    public func append(_ buffer: UnsafeRawBufferPointer) throws(WAVWriteError) {
        guard fd >= 0, writeFailure == nil else {
            throw WAVWriteError(operation: .write, path: partialPath, errno: writeFailure ?? EBADF)
        }
        guard let base = buffer.baseAddress else { return }
        let total = buffer.count / format.bytesPerFrame
        var done = 0
        while done < total {
            let count = min(samplesFrames, total - done)
            convert(from: base + done * format.bytesPerFrame, frames: count)
            if FLAC__stream_encoder_process_interleaved(encoder, samples, UInt32(count)) == 0 {
                throw encoderError(.write)
            }
            done += count
        }
        frames += Int64(total)
    }

    /// Flushes the whole frames libFLAC has written to disk (fdatasync). The block the encoder is
    /// still filling is not in the file yet. Does not allocate; does nothing when nothing was written
    /// since the last sync.
    ///
    /// - Throws: `WAVWriteError` when the disk reports an error.
    public func sync() throws(WAVWriteError) {
        guard fd >= 0 else { throw WAVWriteError(operation: .sync, path: partialPath, errno: EBADF) }
        guard length != lengthSynced else { return }
        let written = length
        if WAVFileWriter.syncData(fd) != 0 {
            throw WAVWriteError(operation: .sync, path: partialPath, errno: errno)
        }
        lengthSynced = written
    }

    /// Finishes the file: libFLAC encodes the last block and rewrites `STREAMINFO` (total samples, MD5,
    /// frame sizes) in place; the file is fsynced, closed, and renamed from `.partial` to its final name
    /// without replacing any file, and the directory fsynced (best effort).
    ///
    /// After a failed write the file is cut to its last whole frame and its `STREAMINFO` filled in as
    /// at a repair after a crash (``PartialRepair``), so what reached the disk stays a valid file.
    ///
    /// - Returns: the path of the finished file: `finalPath`, or a free name from
    ///   `WAVFileWriter.uniquePath(for:)` when another file took it meanwhile.
    /// - Throws: `WAVWriteError`; the file is then closed and left as `.partial` for `PartialRepair`.
    ///   After a repair `frames` and `dataBytes` describe the file as repaired.
    @discardableResult
    public func close() throws(WAVWriteError) -> String {
        guard fd >= 0 else { throw WAVWriteError(operation: .close, path: partialPath, errno: EBADF) }
        if writeFailure == nil, FLAC__stream_encoder_finish(encoder) != 0 {
            let file = fd
            fd = -1
            return try WAVFileWriter.closeAndRename(fd: file, path: partialPath, to: finalPath)
        }
        let error = encoderError(.close)
        abandon()
        // What is on disk is whole frames and perhaps part of one: make it a finished file now.
        let result = PartialRepair.repair(path: partialPath)
        switch result.action {
        case .repaired, .alreadyRenamed:
            frames = result.frames
            length = Int64(result.bytes)
            return result.path
        default:
            throw error
        }
    }

    /// Closes the file without finishing the stream: the `.partial` file stays, its last block and
    /// `STREAMINFO` totals missing, for `PartialRepair`. Does nothing when the file is closed already.
    public func abandon() {
        guard fd >= 0 else { return }
        _ = FileDescriptor(rawValue: fd).closeOrErrno()
        fd = -1
    }

    // MARK: - Private

    /// Widens `count` frames of little-endian PCM at `source` into `samples`.
    private func convert(from source: UnsafeRawPointer, frames count: Int) {
        let values = count * format.channels
        switch format.sampleFormat {
        case .s16:
            for index in 0..<values {
                samples[index] = Int32(
                    Int16(littleEndian: source.loadUnaligned(fromByteOffset: index * 2, as: Int16.self)))
            }
        case .s24:
            let bytes = source.assumingMemoryBound(to: UInt8.self)
            for index in 0..<values {
                let at = index * 3
                let raw = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16
                // Sign-extend from 24 bits.
                samples[index] = Int32(bitPattern: raw << 8) >> 8
            }
        case .s32:
            for index in 0..<values {
                samples[index] = Int32(littleEndian: source.loadUnaligned(fromByteOffset: index * 4, as: Int32.self))
            }
        case .f32:
            break
        }
    }

    /// The error for a libFLAC call that failed: the failed write's errno, or the encoder's state.
    private func encoderError(_ operation: WAVWriteError.Operation) -> WAVWriteError {
        if let writeFailure {
            return WAVWriteError(operation: operation, path: partialPath, errno: writeFailure)
        }
        return WAVWriteError(
            operation: operation, path: partialPath, errno: EIO,
            message: "libFLAC's encoder failed (\(Self.stateText(encoder))); this is a bug, please report it.")
    }

    private static func stateText(_ encoder: UnsafeMutablePointer<FLAC__StreamEncoder>) -> String {
        String(cString: FLAC__stream_encoder_get_resolved_state_string(encoder))
    }

    /// libFLAC hands over the header, then each whole frame; at finish it seeks back to `STREAMINFO`.
    private func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // Closed (abandoned, or libFLAC finishing the stream as the writer goes away): nothing more goes out.
        guard fd >= 0 else { return false }
        if let code = FileDescriptor(rawValue: fd).writeAllOrErrno(bytes, atOffset: position) {
            writeFailure = code
            // Whatever part of it reached the file is cut off by the repair.
            return false
        }
        position += Int64(bytes.count)
        length = max(length, position)
        return true
    }

    private static let writeCallback: FLAC__StreamEncoderWriteCallback = {
        _, buffer, bytes, _, _, client in
        guard let client, let buffer else { return FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR }
        let writer = Unmanaged<FLACFileWriter>.fromOpaque(client).takeUnretainedValue()
        return writer.write(UnsafeRawBufferPointer(start: buffer, count: bytes))
            ? FLAC__STREAM_ENCODER_WRITE_STATUS_OK : FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR
    }

    private static let seekCallback: FLAC__StreamEncoderSeekCallback = { _, offset, client in
        guard let client else { return FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR }
        let writer = Unmanaged<FLACFileWriter>.fromOpaque(client).takeUnretainedValue()
        writer.position = Int64(offset)
        return FLAC__STREAM_ENCODER_SEEK_STATUS_OK
    }

    private static let tellCallback: FLAC__StreamEncoderTellCallback = { _, offset, client in
        guard let client, let offset else { return FLAC__STREAM_ENCODER_TELL_STATUS_ERROR }
        let writer = Unmanaged<FLACFileWriter>.fromOpaque(client).takeUnretainedValue()
        offset.pointee = UInt64(writer.position)
        return FLAC__STREAM_ENCODER_TELL_STATUS_OK
    }
}
