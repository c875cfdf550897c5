// Tests of ffmpeg's argument vector for a network source: no -f, the URL as given, and a masked form for logs.

import CaptureCore
import Testing

extension FFmpegCommandTests {
    @Test func aNetworkSourceLetsFFmpegPickTheProtocolFromTheURL() {
        var source = SourceConfiguration(name: "camera")
        source.inputFormat = "rtsp"
        source.device = "rtsp://admin:s3cret@camera.local:554/stream1"
        source.inputOptions = ["-rtsp_transport", "tcp"]
        source.channels = 1
        source.sampleRate = 16_000
        let args = FFmpegCommand(source: source).arguments()
        #expect(
            args == [
                "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+warning",
                "-probesize", "32768", "-analyzeduration", "500000",
                "-rtsp_transport", "tcp",
                "-i", "rtsp://admin:s3cret@camera.local:554/stream1",
                "-map", "0:a:0", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le",
                "-f", "s16le", "pipe:1",
            ])
        // The form for logs hides the password, and only it.
        let shown = FFmpegCommand(source: source).displayedArguments()
        #expect(shown.count == args.count)
        #expect(shown[shown.firstIndex(of: "-i")! + 1] == "rtsp://admin:***@camera.local:554/stream1")
        #expect(!shown.joined(separator: " ").contains("s3cret"))
    }

    @Test(arguments: SourceConfiguration.networkInputFormats)
    func noNetworkFormatPassesDashF(format: String) {
        var source = SourceConfiguration()
        source.inputFormat = format
        source.device = "srt://receiver.local:9000?passphrase=longsecretphrase"
        let args = FFmpegCommand(source: source).arguments()
        #expect(args.filter { $0 == "-f" }.count == 1)  // only the output's
        #expect(!args.contains("-channels"))
        #expect(args[args.firstIndex(of: "-i")! + 1] == source.device)
        #expect(FFmpegCommand(source: source).displayedArguments().contains("srt://receiver.local:9000?passphrase=***"))
    }
}
