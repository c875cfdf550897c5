// What SegmentWriter needs of the writer of one segment file, WAV or FLAC, and which one a recording uses.
import CaptureCore

/// One segment file being written as `NAME.partial` and renamed to `NAME` when closed; the contract is
/// `WAVFileWriter`'s (blocking calls on the writer's own thread; after a failed `append` the file holds
/// what reached the disk, and `close()` or `abandon()` follows).
protocol SegmentFileWriter: AnyObject {
    /// Frames taken so far.
    var frames: Int64 { get }
    /// Bytes written to the file so far: the audio data of a WAV file, the whole stream of a FLAC file.
    var dataBytes: UInt64 { get }
    /// The gaps the file holds, for metadata that summarises them (WAV's GUANO chunk); before `close()`.
    func setGaps(count: Int, frames: Int64)
    func append(_ buffer: UnsafeRawBufferPointer) throws(WAVWriteError)
    func sync() throws(WAVWriteError)
    @discardableResult func close() throws(WAVWriteError) -> String
    func abandon()
}

extension WAVFileWriter: SegmentFileWriter {}
extension FLACFileWriter: SegmentFileWriter {
    /// The gaps are in the sidecar; the Vorbis comments are written before the audio and not rewritten.
    func setGaps(count: Int, frames: Int64) {}
}

extension RecordingConfiguration {
    /// Creates the `.partial` file of a new segment of this recording at `path` in its `format`.
    ///
    /// - Parameters:
    ///   - startTime: wall time of the segment's first frame (a FLAC file's `DATE` and `TIME_REFERENCE`).
    ///   - metadata: what a WAV file's `bext` and GUANO chunks say, and a FLAC file's Vorbis comments.
    func makeSegmentFile(
        path: String, format audio: AudioFormat, startTime: Double, metadata: SegmentMetadata? = nil
    ) throws(WAVWriteError) -> any SegmentFileWriter {
        switch format {
        case .wav:
            return try WAVFileWriter(finalPath: path, format: audio, metadata: metadata)
        case .flac:
            return try FLACFileWriter(
                finalPath: path, format: audio, level: flacLevel,
                tags: metadata.map(FLACFileWriter.Tags.init)
                    ?? FLACFileWriter.Tags(recording: name, startTime: startTime))
        }
    }
}
