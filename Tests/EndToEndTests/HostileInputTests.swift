// End to end: hostile values on every input of one running daemon; it refuses each with a 4xx and a
// message, never traps, and its continuous recording goes on without a gap.
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    @Suite(.serialized) struct HostileInputTests {
        /// One refused request: what is sent and the status expected back.
        struct Case: CustomStringConvertible {
            var method: String
            var target: String
            var body: [UInt8] = []
            var status: Int = 400

            var description: String {
                "\(method) \(target) \(String(decoding: body.prefix(120), as: UTF8.self).debugDescription)"
            }
        }

        static func start(_ json: String, status: Int = 400) -> Case {
            Case(method: "POST", target: "/v1/recordings", body: Array(json.utf8), status: status)
        }

        /// The reply to `request`: its status and the error message of its JSON body (nil when there is none).
        static func send(_ socket: String, _ request: Case) -> (status: Int, message: String?, reply: String) {
            let reply = RawSocket.request(socket, method: request.method, target: request.target, body: request.body)
            let error = try? ControlAPI.decoder().decode(ErrorResponse.self, from: Data(RawSocket.body(of: reply).utf8))
            return (RawSocket.status(of: reply), error?.error.message, reply)
        }

        @Test func hostileValuesAreRefusedWhileTheDaemonAndItsRecordingCarryOn() throws {
            try DaemonFixture.with { dir in
                let socket = dir.socket
                let root = dir.path + "/ondemand"
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 600))'
                    input_options = ["-re"]
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = "\(socket)"
                    [storage]
                    root = "\(root)"
                    state = "\(dir.path)/state"
                    [[recording]]
                    name = "main"
                    directory = "\(root)/main"
                    segment_seconds = 3600
                    align = "samples"
                    filename = "{seq}.wav"
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("control API listening"), "\(daemon.log)")
                #expect(waitForAudio(under: root + "/main"), "\(daemon.log)")
                let pid = daemon.pid

                let long = String(repeating: "x", count: 300)
                let longComponent = String(repeating: "d", count: 300)
                var counts: [String: Int] = [:]
                var failures: [String] = []
                func refuse(_ kind: String, _ cases: [Case]) {
                    counts[kind, default: 0] += cases.count
                    for request in cases {
                        let (status, message, reply) = Self.send(socket, request)
                        if status != request.status || (message ?? "").isEmpty {
                            failures.append("\(kind): \(request) → \(status) \(reply.suffix(300))")
                        }
                        if let message,
                            message.unicodeScalars.contains(where: {
                                $0.value < 0x20 || (0x7F...0x9F).contains($0.value)
                            })
                        {
                            failures.append(
                                "\(kind): \(request) echoes a control character: \(message.debugDescription)")
                        }
                    }
                }

                // Numbers in the query: never a trap, always a 400 that says the range.
                let badIntegers = [
                    "1e19", "-1", "0", "nan", "inf", "-inf", "99999999999999999999", "2.5", "abc", "", "1e308",
                    "100001",
                ]
                let badTimes = ["nan", "inf", "-inf", "-1", "1e19", "99999999999999999999", "abc", ""]
                refuse(
                    "query numbers",
                    badIntegers.map { Case(method: "GET", target: "/v1/events?limit=\($0)") }
                        + badTimes.map { Case(method: "GET", target: "/v1/events?since=\($0)") }
                        + badTimes.map { Case(method: "GET", target: "/v1/recordings/main/segments?since=\($0)") }
                        + (badIntegers + ["19", "60001"]).map {
                            Case(method: "GET", target: "/v1/levels?follow=1&interval_ms=\($0)")
                        })

                // Numbers in the body of a start.
                refuse(
                    "body numbers",
                    ["1e19", "-1", "0", "99999999999999999999", "86401", "2.5", "\"nan\"", "9223372036854775807"].map {
                        Self.start(#"{"name":"n","segment_seconds":\#($0)}"#)
                    }
                        + [
                            "\"nan\"", "\"inf\"", "\"-inf\"", "1e308", "-1", "0", "99999999999999999999", "1e400",
                            "31622401",
                        ].map {
                            Self.start(#"{"name":"n","duration_seconds":\#($0)}"#)
                        })

                // Names, in the body, the path and the query.
                let badNames = [
                    #"a\u0000b"#, #"\u001b[31mred"#, long, "../x", "x/", ".", "..", "", "a b", #"\u009b31m"#,
                ]
                refuse(
                    "names",
                    badNames.map { Self.start(#"{"name":"\#($0)"}"#) }
                        + ["%1B%5B31m", "a%00b", long, "x%2F"].map {
                            Case(method: "DELETE", target: "/v1/recordings/\($0)")
                        }
                        + ["%1B%5B31m", long].map { Case(method: "GET", target: "/v1/recordings/\($0)/segments") }
                        + ["%1B%5B31m", "a%00b", long].map { Case(method: "GET", target: "/v1/events?recording=\($0)") }
                )

                // Filename templates and directories.
                refuse(
                    "templates and directories",
                    [
                        #"\u001b[2J{seq}"#, #"a\u0000b"#, "%n{seq}", "a%tb", "\(longComponent)/{seq}",
                        String(repeating: "f", count: 240),
                        "x/", "/abs.wav", "../x", String(repeating: "%c", count: 200), #"\u009b{seq}"#,
                    ].map { Self.start(#"{"name":"t","filename":"\#($0)"}"#) }
                        + [
                            #"\u001b]0;title\u0007"#, #"a\u0000b"#, longComponent,
                            String(repeating: "/abcdefgh", count: 460),
                            "/etc", "../../etc",
                        ].map { Self.start(#"{"name":"t","directory":"\#($0)"}"#) })

                // Directories that overlap the continuous recording's: the same, inside, containing, through a link.
                try FileManager.default.createSymbolicLink(atPath: root + "/alias", withDestinationPath: root + "/main")
                refuse(
                    "overlapping directories",
                    ["main", "main/sub", root + "/main", root + "/main/", root, ".", "alias", "alias/x"].map {
                        Self.start(#"{"name":"o","directory":"\#($0)"}"#)
                    })

                // A flood of on-demand starts: 16 run ([control] max_recordings' default), the 17th is refused.
                var started: [String] = []
                for index in 1...16 {
                    let (status, _, reply) = Self.send(socket, Self.start(#"{"name":"flood-\#(index)"}"#))
                    #expect(status == 201, "start flood-\(index): \(reply.suffix(300))")
                    if status == 201 { started.append("flood-\(index)") }
                }
                refuse(
                    "flood",
                    [
                        Self.start(#"{"name":"flood-17"}"#, status: 409),
                        Self.start(#"{"name":"flood-18"}"#, status: 409),
                    ])
                let refused = Self.send(socket, Self.start(#"{"name":"flood-19"}"#))
                #expect(refused.message?.contains("max_recordings") == true, "\(refused.reply)")
                for name in started {
                    let (status, _, reply) = Self.send(socket, Case(method: "DELETE", target: "/v1/recordings/\(name)"))
                    #expect(status == 200, "stop \(name): \(reply.suffix(300))")
                }
                // Room again once they stopped.
                #expect(Self.send(socket, Self.start(#"{"name":"after"}"#)).status == 201)
                #expect(Self.send(socket, Case(method: "DELETE", target: "/v1/recordings/after")).status == 200)

                #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
                let trap = Self.send(socket, Case(method: "GET", target: "/v1/events?limit=1e19"))
                #expect(trap.message == "limit \"1e19\" must be an integer from 1 to 100000", "\(trap.reply)")
                let escape = Self.send(socket, Self.start(#"{"name":"t","filename":"\u001b[2J{seq}"}"#))
                #expect(escape.message?.contains("\\u{1B}[2J{seq}") == true, "\(escape.reply)")
                #expect(escape.message?.contains("found escape U+001B") == true, "\(escape.reply)")
                let total = counts.values.reduce(0, +)
                print(
                    "hostile input cases refused: \(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); total \(total)"
                )

                // The same daemon is alive, answers, and its continuous recording goes on without a gap.
                #expect(
                    waitForAudio(under: root + "/main", moreThan: audioBytes(under: root + "/main"), bytes: 192_000))
                #expect(daemon.process.isRunning)
                let reply = RawSocket.request(socket, method: "GET", target: "/v1/status")
                #expect(RawSocket.status(of: reply) == 200, "\(reply.prefix(300))")
                let status = try ControlAPI.decoder().decode(
                    StatusResponse.self, from: Data(RawSocket.body(of: reply).utf8))
                #expect(status.pid == pid)
                let main = status.recordings.first { $0.name == "main" }
                #expect(main?.state == "recording", "\(String(describing: main))")
                #expect(main?.gaps == 0, "\(String(describing: main))")
                #expect(main?.droppedFrames == 0, "\(String(describing: main))")
                #expect(status.recordings.map(\.name) == ["main"])
                // Nothing was created under a refused name.
                let names = (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String]) ?? []
                #expect(!names.contains { $0.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } })
                #expect(!names.contains { $0.contains("xxxxxxxxxx") || $0.contains("ffffffffff") })
                #expect(!daemon.log.contains("Fatal error"))
            }
        }
    }
}
