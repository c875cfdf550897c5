// Decodes a FLAC file with libFLAC to find where its last whole frame ends and the MD5 of its audio.

import CFLAC
import CaptureCore
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What decoding a FLAC stream from its start found: its format, and the frames that decode without
/// error, up to the first that does not (a frame cut short by a crash, bytes that are not FLAC).
///
/// Blocking: reads the whole file; run on a dedicated thread.
public struct FLACFileScan: Sendable {
    /// The format `STREAMINFO` declares (s16, s24 or s32 for 16, 24 or 32 bits per sample).
    public var format: AudioFormat
    /// Bytes from the start of the file to the end of the last whole frame (or of the metadata when
    /// there is no frame).
    public var goodLength: UInt64
    /// Frames (samples per channel) in the whole FLAC frames.
    public var frames: Int64
    /// MD5 of the decoded audio as FLAC defines it (interleaved little-endian samples of the bit depth's
    /// whole bytes): what `STREAMINFO` holds for these frames.
    public var md5: [UInt8]
    /// What `STREAMINFO` says now.
    public var declaredFrames: UInt64
    public var declaredMD5: [UInt8]
    /// Whether decoding stopped at something other than the end of the file (a cut or damaged frame).
    public var stoppedEarly: Bool
    /// The decoded audio, interleaved little-endian PCM, when asked for (tests).
    public var audio: [UInt8]?

    /// Why a file could not be scanned.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Decodes the FLAC file open at `fd` (read from offset 0, the file offset untouched).
    ///
    /// - Parameter keepAudio: also return the decoded audio in ``audio``.
    /// - Throws: `Failure` when the file does not start with a readable `fLaC` marker and `STREAMINFO`,
    ///   or declares a bit depth audiocap does not write.
    public static func scan(fd: Int32, keepAudio: Bool = false) throws(Failure) -> FLACFileScan {
        guard let decoder = FLAC__stream_decoder_new() else { throw Failure(description: "libFLAC is out of memory") }
        defer { FLAC__stream_decoder_delete(decoder) }
        let state = DecodeState(fd: fd, keepAudio: keepAudio)
        let client = Unmanaged.passUnretained(state).toOpaque()
        let initStatus = FLAC__stream_decoder_init_stream(
            decoder, readCallback, nil, tellCallback, nil, nil, writeCallback, metadataCallback, errorCallback, client)
        guard initStatus == FLAC__STREAM_DECODER_INIT_STATUS_OK else {
            throw Failure(description: "libFLAC's decoder could not start (status \(initStatus.rawValue))")
        }
        defer { FLAC__stream_decoder_finish(decoder) }
        _ = FLAC__stream_decoder_process_until_end_of_metadata(decoder)
        if let code = state.readFailure {
            throw Failure(description: "cannot read the file: \(String(cString: strerror(code)))")
        }
        guard let info = state.streamInfo, !state.errorSeen else {
            throw Failure(description: "it does not start with a FLAC marker and STREAMINFO block")
        }
        guard let format = info.format else {
            throw Failure(
                description: "its STREAMINFO declares \(info.bits) bits per sample, which audiocap does not write")
        }
        state.format = format
        var position: UInt64 = 0
        _ = FLAC__stream_decoder_get_decode_position(decoder, &position)
        var goodLength = position
        var stoppedEarly = false
        while true {
            state.frameDecoded = false
            let ok = FLAC__stream_decoder_process_single(decoder) != 0
            if state.frameDecoded, !state.errorSeen {
                if FLAC__stream_decoder_get_decode_position(decoder, &position) != 0 { goodLength = position }
                state.commitFrame()
            }
            let decoderState = FLAC__stream_decoder_get_state(decoder)
            if decoderState == FLAC__STREAM_DECODER_END_OF_STREAM && !state.errorSeen { break }
            if !ok || state.errorSeen || decoderState == FLAC__STREAM_DECODER_ABORTED
                || decoderState.rawValue > FLAC__STREAM_DECODER_END_OF_STREAM.rawValue
            {
                stoppedEarly = true
                break
            }
        }
        if let code = state.readFailure {
            throw Failure(description: "cannot read the file: \(String(cString: strerror(code)))")
        }
        return FLACFileScan(
            format: format, goodLength: goodLength, frames: state.frames, md5: state.md5.finalize(),
            declaredFrames: info.totalSamples, declaredMD5: info.md5, stoppedEarly: stoppedEarly,
            audio: keepAudio ? state.audio : nil)
    }

    // MARK: - Private

    /// `STREAMINFO` as read.
    private struct StreamInfo {
        var sampleRate: Int
        var channels: Int
        var bits: Int
        var totalSamples: UInt64
        var md5: [UInt8]

        var format: AudioFormat? {
            let sampleFormat: SampleFormat? =
                switch bits {
                case 16: .s16
                case 24: .s24
                case 32: .s32
                default: nil
                }
            return sampleFormat.map { AudioFormat(sampleRate: sampleRate, channels: channels, sampleFormat: $0) }
        }
    }

    /// The decoder's client: reads the file, and keeps the MD5 and counts of the frames decoded.
    private final class DecodeState {
        let fd: Int32
        let keepAudio: Bool
        var offset: Int64 = 0
        var readFailure: Int32?
        var streamInfo: StreamInfo?
        var format: AudioFormat?
        var errorSeen = false
        var frameDecoded = false
        var frames: Int64 = 0
        var md5 = MD5()
        var audio: [UInt8] = []
        /// The last frame decoded, packed, until it is known to be whole.
        var pending: [UInt8] = []
        var pendingFrames: Int64 = 0

        init(fd: Int32, keepAudio: Bool) {
            self.fd = fd
            self.keepAudio = keepAudio
        }

        func commitFrame() {
            pending.withUnsafeBytes { md5.update($0) }
            if keepAudio { audio += pending }
            frames += pendingFrames
        }

        /// Packs a decoded frame into little-endian bytes for the MD5.
        func take(_ frame: UnsafePointer<FLAC__Frame>, _ buffer: UnsafePointer<UnsafePointer<Int32>?>) -> Bool {
            guard let format else { return false }
            let blocksize = Int(frame.pointee.header.blocksize)
            let channels = Int(frame.pointee.header.channels)
            guard channels == format.channels else { return false }
            let bytesPerSample = format.sampleFormat.bytesPerSample
            pending.removeAll(keepingCapacity: true)
            pending.reserveCapacity(blocksize * channels * bytesPerSample)
            for index in 0..<blocksize {
                for channel in 0..<channels {
                    guard let samples = buffer[channel] else { return false }
                    let value = UInt32(bitPattern: samples[index])
                    for byte in 0..<bytesPerSample {
                        pending.append(UInt8(truncatingIfNeeded: value >> (8 * byte)))
                    }
                }
            }
            pendingFrames = Int64(blocksize)
            frameDecoded = true
            return true
        }
    }

    private static let readCallback: FLAC__StreamDecoderReadCallback = { _, buffer, bytes, client in
        guard let client, let buffer, let bytes else { return FLAC__STREAM_DECODER_READ_STATUS_ABORT }
        let state = Unmanaged<DecodeState>.fromOpaque(client).takeUnretainedValue()
        while true {
            let got = pread(state.fd, buffer, bytes.pointee, off_t(state.offset))
            if got < 0 && errno == EINTR { continue }
            if got < 0 {
                state.readFailure = errno
                bytes.pointee = 0
                return FLAC__STREAM_DECODER_READ_STATUS_ABORT
            }
            bytes.pointee = got
            state.offset += Int64(got)
            return got == 0 ? FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM : FLAC__STREAM_DECODER_READ_STATUS_CONTINUE
        }
    }

    private static let tellCallback: FLAC__StreamDecoderTellCallback = { _, offset, client in
        guard let client, let offset else { return FLAC__STREAM_DECODER_TELL_STATUS_ERROR }
        offset.pointee = UInt64(Unmanaged<DecodeState>.fromOpaque(client).takeUnretainedValue().offset)
        return FLAC__STREAM_DECODER_TELL_STATUS_OK
    }

    private static let writeCallback: FLAC__StreamDecoderWriteCallback = { _, frame, buffer, client in
        guard let client, let frame, let buffer else { return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT }
        let state = Unmanaged<DecodeState>.fromOpaque(client).takeUnretainedValue()
        // A frame after an error (libFLAC may hand over a damaged frame as silence) is not kept.
        guard !state.errorSeen, state.take(frame, buffer) else { return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT }
        return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE
    }

    private static let metadataCallback: FLAC__StreamDecoderMetadataCallback = { _, metadata, client in
        guard let client, let metadata, metadata.pointee.type == FLAC__METADATA_TYPE_STREAMINFO else { return }
        let state = Unmanaged<DecodeState>.fromOpaque(client).takeUnretainedValue()
        let info = metadata.pointee.data.stream_info
        let md5 = withUnsafeBytes(of: info.md5sum) { Array($0) }
        state.streamInfo = StreamInfo(
            sampleRate: Int(info.sample_rate), channels: Int(info.channels), bits: Int(info.bits_per_sample),
            totalSamples: info.total_samples, md5: md5)
    }

    private static let errorCallback: FLAC__StreamDecoderErrorCallback = { _, _, client in
        guard let client else { return }
        Unmanaged<DecodeState>.fromOpaque(client).takeUnretainedValue().errorSeen = true
    }
}
