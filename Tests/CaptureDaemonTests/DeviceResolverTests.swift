import Foundation
import TestSupport
import Testing
@testable import CaptureDaemon

@Suite struct DeviceResolverTests {
    @Test func byIDLinksResolveToTheCardIDTheyPointAtNow() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir.file("dev/snd/by-id"), withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir.file("proc/card3"), withIntermediateDirectories: true)
        fm.createFile(atPath: dir.file("dev/snd/controlC3"), contents: nil)
        try "Microphone\n".write(toFile: dir.file("proc/card3/id"), atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(
            atPath: dir.file("dev/snd/by-id/usb-Acme_Mic-00"), withDestinationPath: "../controlC3")
        let resolver = DeviceResolver(procRoot: dir.file("proc"))
        #expect(resolver.resolve(dir.file("dev/snd/by-id/usb-Acme_Mic-00")) == .device("plughw:CARD=Microphone"))
        // Re-plugged as card 5: the same link now names card 5.
        try fm.removeItem(atPath: dir.file("dev/snd/by-id/usb-Acme_Mic-00"))
        try fm.createDirectory(atPath: dir.file("proc/card5"), withIntermediateDirectories: true)
        fm.createFile(atPath: dir.file("dev/snd/controlC5"), contents: nil)
        try "Mic2\n".write(toFile: dir.file("proc/card5/id"), atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(
            atPath: dir.file("dev/snd/by-id/usb-Acme_Mic-00"), withDestinationPath: "../controlC5")
        #expect(resolver.resolve(dir.file("dev/snd/by-id/usb-Acme_Mic-00")) == .device("plughw:CARD=Mic2"))
    }

    @Test func unpluggedAndPlainNames() {
        let resolver = DeviceResolver(procRoot: "/nonexistent")
        if case .missing(let message) = resolver.resolve("/dev/snd/by-id/usb-Gone-00") {
            #expect(message.contains("plugged in"))
        } else {
            Issue.record("a missing link must be reported")
        }
        #expect(resolver.resolve("hw:CARD=USB") == .device("hw:CARD=USB"))
        #expect(resolver.resolve("default") == .device("default"))
    }
}
