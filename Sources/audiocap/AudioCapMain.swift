// Entry point of `audiocap`; the commands live in CaptureCommands.
//
// Not `main.swift`: an async root command has to be started from an `async` `main()`, which top-level code
// in main.swift does not provide.

import CaptureCommands

@main
struct AudioCapMain {
    static func main() async {
        await AudioCapCommand.main(arguments: Array(CommandLine.arguments.dropFirst()))
    }
}
