// Ending a fixture (test microphone, systemd box) through its stop.sh, reporting what went wrong.
import Foundation

/// The fixtures' scripts, run the same way.
enum FixtureScript {
    /// Runs `script STATE_DIR`; a failure is written to standard error as `OWNER: ...`, never thrown:
    /// stopping is best effort, also from `deinit`.
    static func stop(_ owner: String, script: String, stateDirectory: String, timeout: Double) {
        do {
            let result = try ProcessRunner.run("/bin/sh", [script, stateDirectory], timeout: timeout)
            if result.status != 0 {
                let message =
                    "\(owner): \((script as NSString).lastPathComponent) \(stateDirectory) exited with \(result.status): "
                FileHandle.standardError.write(Data(message.utf8) + result.stderr)
            }
        } catch {
            FileHandle.standardError.write(Data("\(owner): cannot stop \(stateDirectory): \(error)\n".utf8))
        }
    }
}
