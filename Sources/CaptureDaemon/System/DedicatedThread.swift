// Starts the daemon's long-lived threads with a name the system shows (`top -H`, `ps -L`, perf); short
// blocking work goes to BlockingWorker instead.
import CSystemShims
import Foundation

enum DedicatedThread {
    /// Runs `body` on a new thread named `name`. Linux keeps 15 bytes of a thread's name, so the name is
    /// cut there (at a character boundary). Foundation's `Thread.name` set before `start()` does not
    /// reach the kernel on Linux, hence the call inside the thread.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        var short = ""
        for character in name where short.utf8.count + String(character).utf8.count <= 15 {
            short.append(character)
        }
        let osName = short
        let thread = Thread {
            _ = audiocap_set_thread_name(osName)
            body()
        }
        thread.name = name
        thread.start()
    }
}
