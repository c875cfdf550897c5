// Tests of CredentialMask: the secrets of a network source's URL never shown, in the URL or in other text.

import CaptureCore
import Testing

@Suite struct CredentialMaskTests {
    @Test(arguments: [
        ("rtsp://admin:s3cret@camera.local:554/stream1", "rtsp://admin:***@camera.local:554/stream1"),
        ("rtsps://admin:s3cret@camera.local/stream1?x=1", "rtsps://admin:***@camera.local/stream1?x=1"),
        // A password holding `@` and `:`: the user part ends at the last `@` before the path.
        ("rtsp://admin:p@ss:w@camera.local/s", "rtsp://admin:***@camera.local/s"),
        // Only a user part, no password: often a token.
        ("https://ghp_token123@radio.example.org/live.mp3", "https://***@radio.example.org/live.mp3"),
        // SRT's passphrase and other secret parameters, whatever their case; other parameters stay.
        (
            "srt://receiver.local:9000?mode=caller&passphrase=longsecretphrase",
            "srt://receiver.local:9000?mode=caller&passphrase=***"
        ),
        (
            "https://radio.example.org/live?Token=abc123&bitrate=128",
            "https://radio.example.org/live?Token=***&bitrate=128"
        ),
        ("http://u:pw1@host/a?api_key=k3y#frag", "http://u:***@host/a?api_key=***#frag"),
        // Nothing to mask.
        ("rtsp://camera.local:554/stream1", "rtsp://camera.local:554/stream1"),
        ("http://user:@host/a", "http://user:@host/a"),
        ("hw:CARD=USB,DEV=0", "hw:CARD=USB,DEV=0"),
        ("default", "default"),
        ("aevalsrc=0.1*sin(2*PI*1000*t):s=48000", "aevalsrc=0.1*sin(2*PI*1000*t):s=48000"),
        ("", ""),
    ])
    func aDeviceIsShownWithItsSecretsMasked(device: String, shown: String) {
        #expect(CredentialMask.masked(device) == shown)
        #expect(CredentialMask(device: device).isEmpty == (device == shown))
    }

    @Test func aPercentEncodedPasswordIsMaskedInBothForms() {
        let mask = CredentialMask(device: "rtsp://admin:p%40ss%3Aw0rd@camera.local/s")
        #expect(mask.secrets.contains("p%40ss%3Aw0rd"))
        #expect(mask.secrets.contains("p@ss:w0rd"))
        #expect(CredentialMask.masked("rtsp://admin:p%40ss%3Aw0rd@camera.local/s") == "rtsp://admin:***@camera.local/s")
        // ffmpeg may quote the URL decoded.
        #expect(
            mask.mask("authentication failed for admin with p@ss:w0rd") == "authentication failed for admin with ***")
    }

    @Test func aTextLineQuotingTheURLIsMasked() {
        let device = "rtsp://admin:s3cret@camera.local:554/stream1"
        let line =
            "[rtsp @ 0x55d0c8a4e2c0] method DESCRIBE failed: 401 Unauthorized\n" + device
            + ": Server returned 401 Unauthorized (authorization failed)"
        let masked = CredentialMask(device: device).mask(line)
        #expect(!masked.contains("s3cret"))
        #expect(masked.contains("rtsp://admin:***@camera.local:554/stream1: Server returned 401"))
        #expect(masked.hasPrefix("[rtsp @ 0x55d0c8a4e2c0] method DESCRIBE failed"))
        // A secret that contains another is masked whole.
        let nested = CredentialMask(device: "srt://h:1?passphrase=abcdefghij&token=abc")
        #expect(nested.secrets == ["abcdefghij", "abc"])
        #expect(nested.mask("x abcdefghij y abc") == "x *** y ***")
    }

    @Test func aDeviceThatIsNoURLMasksNothing() {
        let mask = CredentialMask(device: "plughw:CARD=USB,DEV=0")
        #expect(mask.isEmpty)
        #expect(
            mask.mask("cannot open audio device plughw:CARD=USB,DEV=0 (No such file)")
                == "cannot open audio device plughw:CARD=USB,DEV=0 (No such file)")
    }
}
