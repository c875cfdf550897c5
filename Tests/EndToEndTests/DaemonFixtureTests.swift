// The fixture itself: what it gives a test, and that it tears everything down even when the test throws.
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized) struct DaemonFixtureTests {
        struct Planned: Error {}

        @Test func aThrowingBodyStillEndsItsDaemonsAndRemovesItsDirectory() throws {
            var path = ""
            var daemons: [DaemonProcess] = []
            #expect(throws: Planned.self) {
                try DaemonFixture.with(config: { dir in
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 600))'
                    input_options = ["-re"]
                    [control]
                    socket = "\(dir.socket)"
                    [storage]
                    root = "\(dir.root)"
                    state = "\(dir.state)"
                    """
                }) { dir in
                    path = dir.path
                    daemons.append(dir.daemon)
                    #expect(dir.waitForControl(), "\(dir.daemon.log)")
                    #expect(try dir.cli(["status"]).status == 0)
                    throw Planned()
                }
            }
            #expect(!path.isEmpty)
            #expect(daemons.count == 1)
            #expect(daemons.allSatisfy { !$0.process.isRunning })
            #expect(daemons.first?.process.terminationReason == .exit)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }
}
