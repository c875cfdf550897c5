// The one RFC 3339 time rule (WireFormat.utc), which log lines, events and sidecars all use.
import CaptureProtocol
import Testing

@Suite struct WireFormatTimeTests {
    @Test func rfc3339InUTCWithMilliseconds() {
        #expect(WireFormat.utc(1_795_307_400.0) == "2026-11-22T00:30:00.000Z")
        #expect(WireFormat.utc(1_795_307_411.1234) == "2026-11-22T00:30:11.123Z")
        #expect(WireFormat.utc(1_795_307_411.9996) == "2026-11-22T00:30:12.000Z")
    }
}
