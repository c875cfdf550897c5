// testmic-check CHANNELS FILE...: joins raw or WAV files and checks them against the test pattern.
import Foundation
import TestSupport

let arguments = CommandLine.arguments.dropFirst()
guard let channels = arguments.first.flatMap(Int.init), arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: testmic-check CHANNELS FILE...\n".utf8))
    exit(64)
}
do {
    let report = try PatternCheck.check(channels: channels, files: Array(arguments.dropFirst()))
    print(report)
    exit(report.bitExact ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("testmic-check: \(error)\n".utf8))
    exit(74)
}
