// FFmpegStreamInfo against lines ffmpeg 5.1 printed here (`-loglevel level+info`, alsa and lavfi inputs).
import CaptureCore
import Testing

@Suite struct FFmpegStreamInfoTests {
    let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)

    @Test func readsTheStreamLinesFFmpegPrints() {
        let alsa = FFmpegStreamInfo(line: "[info]   Stream #0:0: Audio: pcm_s16le, 44100 Hz, stereo, s16, 1411 kb/s")
        #expect(alsa == FFmpegStreamInfo(codec: "pcm_s16le", sampleRate: 44_100, channels: 2))
        let mono = FFmpegStreamInfo(line: "  Stream #0:0: Audio: pcm_s32le, 96000 Hz, mono, s32, 3072 kb/s")
        #expect(mono == FFmpegStreamInfo(codec: "pcm_s32le", sampleRate: 96_000, channels: 1))
        let many = FFmpegStreamInfo(
            line: "[info]   Stream #0:0: Audio: pcm_f32le, 48000 Hz, 10 channels, flt, 15360 kb/s")
        #expect(many?.channels == 10)
        let tagged = FFmpegStreamInfo(
            line: "[info]   Stream #0:0: Audio: pcm_s16le ([1][0][0][0] / 0x0001), 16000 Hz, 5.1, s16, 1536 kb/s")
        #expect(tagged == FFmpegStreamInfo(codec: "pcm_s16le", sampleRate: 16_000, channels: 6))
        #expect(FFmpegStreamInfo(line: "[info] Input #0, alsa, from 'testmic':") == nil)
        #expect(FFmpegStreamInfo(line: "[info]   Stream #0:0: Video: rawvideo, 640x480") == nil)
        #expect(FFmpegStreamInfo(line: "[info]   Stream #0:0: Audio: pcm_s16le") == nil)
    }

    @Test func saysWhatDiffersFromTheConfiguredFormat() {
        let exact = FFmpegStreamInfo(codec: "pcm_s16le", sampleRate: 48_000, channels: 2)
        #expect(exact.mismatch(with: format, codec: "pcm_s16le") == nil)
        let near = FFmpegStreamInfo(codec: "pcm_s16le", sampleRate: 44_100, channels: 1)
        #expect(near.mismatch(with: format, codec: "pcm_s16le") == "44100 Hz, not 48000 Hz, 1 channel, not 2")
        let unknownLayout = FFmpegStreamInfo(codec: "pcm_s32le", sampleRate: 48_000, channels: nil)
        let why = unknownLayout.mismatch(with: format, codec: "pcm_s16le")
        #expect(why?.hasPrefix("codec pcm_s32le, not pcm_s16le, a channel layout not known by name") == true)
    }
}
