import Foundation
import Testing
@testable import CaptureDaemon

@Suite struct TimestampTests {
    @Test func iso8601InUTCWithMilliseconds() {
        #expect(Timestamp.iso8601(1_795_307_400.0) == "2026-11-22T00:30:00.000Z")
        #expect(Timestamp.iso8601(1_795_307_411.1234) == "2026-11-22T00:30:11.123Z")
        #expect(Timestamp.iso8601(1_795_307_411.9996) == "2026-11-22T00:30:12.000Z")
    }
}
