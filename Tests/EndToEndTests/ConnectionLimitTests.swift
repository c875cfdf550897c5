// End to end: the control socket's limits (connections, follow streams, timeouts) against clients that misbehave.
import CaptureProtocol
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    @Suite(.serialized) struct ConnectionLimitTests {
        /// The daemon's limits (`ConnectionLimits.control`, `FollowStreams`).
        static let maximumConnections = 64
        static let maximumFollowStreams = 16
        static let requestHeadTimeout = 10.0

        static let followTargets = [
            "/v1/events?follow=1", "/v1/levels?follow=1&interval_ms=100", "/v1/events?follow=1&level=error",
        ]

        /// Opens a follow stream; returns the fd and what arrived up to the end of the response head.
        static func openFollow(_ socket: String, _ target: String) -> (fd: Int32, head: String) {
            let fd = RawSocket.connect(socket)
            guard fd >= 0 else { return (fd, "") }
            _ = RawSocket.send(fd, Array("GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            return (fd, RawSocket.read(fd, until: "\r\n\r\n", timeout: 5))
        }

        /// Client `number` connects and goes away, in one of six ways (`number % 6`).
        static func vanishingClient(_ socket: String, number: Int) {
            let fd = RawSocket.connect(socket)
            guard fd >= 0 else { return }
            defer { close(fd) }
            switch number % 6 {
            case 0: break  // connects and closes
            case 1: _ = RawSocket.send(fd, Array("GET /v1/status HTTP/1.1\r\nHo".utf8))  // half a header
            case 2: _ = RawSocket.send(fd, Array("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n".utf8))  // never reads
            case 3:
                _ = RawSocket.send(
                    fd, Array("POST /v1/recordings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na".utf8))
            case 4:  // a follow stream, closed once it started (or was refused)
                _ = RawSocket.send(fd, Array("GET \(followTargets[(number / 6) % 3]) HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                _ = RawSocket.read(fd, until: "\r\n\r\n", timeout: 2)
            default:  // a follow stream on levels, closed before its head arrives
                _ = RawSocket.send(fd, Array("GET /v1/levels?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            }
        }

        @Test func vanishingSlowAndSurplusClientsCostNoDescriptorAndNoAudio() throws {
            let api = try PacedGeneratorDaemon()
            defer { api.remove() }
            let socket = api.socket

            // Warm up (the event loops, the event log) with clients that are gone at once, then take the
            // baseline once the count has held for a second.
            for number in 0..<12 where number % 6 != 4 { Self.vanishingClient(socket, number: number) }
            #expect(api.status() != nil)
            let baseline = try #require(api.steadyDescriptorCount(), "the descriptor count never settles")

            // Slow clients, in the background: one sends nothing, one half a header; both are dropped
            // after the request-head timeout.
            let slowClosed = Mutex<[Double?]>([])
            let slow = (0..<2).map { index in
                Thread {
                    let fd = RawSocket.connect(socket)
                    if index == 1 {
                        _ = RawSocket.send(fd, Array("GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8))
                    }
                    let seconds = RawSocket.secondsUntilClosed(fd, timeout: Self.requestHeadTimeout + 10)
                    close(fd)
                    slowClosed.withLock { $0.append(seconds) }
                }
            }
            slow.forEach { $0.start() }

            // 1,000 clients that vanish, 50 at a time.
            let tried = Mutex(0)
            for batch in 0..<20 {
                DispatchQueue.concurrentPerform(iterations: 50) { index in
                    Self.vanishingClient(socket, number: batch * 50 + index)
                    tried.withLock { $0 += 1 }
                }
            }
            #expect(tried.withLock { $0 } == 1000)
            let afterStorm = api.descriptorCount
            #expect(api.status(timeout: 10) != nil, "the daemon answers right after the storm")

            // Follow streams: the 17th is refused with a JSON error while 16 are open; each open one
            // gets a heartbeat (an empty line) while nothing else happens.
            var follows: [Int32] = []
            for index in 0..<Self.maximumFollowStreams {
                var opened = Self.openFollow(socket, Self.followTargets[index % 3])
                // A slot of a vanished stream is free at its next write: at most one heartbeat later.
                let deadline = Date().addingTimeInterval(10)
                while RawSocket.status(of: opened.head) == 503, Date() < deadline {
                    close(opened.fd)
                    usleep(200_000)
                    opened = Self.openFollow(socket, Self.followTargets[index % 3])
                }
                #expect(RawSocket.status(of: opened.head) == 200, "follow stream \(index + 1): \(opened.head)")
                follows.append(opened.fd)
            }
            let refused = Self.openFollow(socket, "/v1/events?follow=1")
            let refusedReply = refused.head + RawSocket.readAll(refused.fd, timeout: 2)
            close(refused.fd)
            #expect(RawSocket.status(of: refusedReply) == 503, "\(refusedReply)")
            let refusal = try? ControlAPI.decoder().decode(
                ErrorResponse.self, from: Data(RawSocket.body(of: refusedReply).utf8))
            #expect(refusal?.error.status == 503)
            #expect(refusal?.error.message.contains("too many follow streams") == true, "\(refusedReply)")
            // The first stream follows error events only: after its (empty) backlog, a heartbeat chunk
            // `1\r\n\n\r\n` arrives within the heartbeat interval.
            let quiet = Self.openFollowAfterFreeing(&follows, socket: socket, target: "/v1/events?follow=1&level=error")
            let heartbeat = RawSocket.read(quiet, until: "1\r\n\n\r\n", timeout: 8)
            #expect(
                heartbeat.contains("1\r\n\n\r\n"),
                "no heartbeat on a quiet follow stream: \(heartbeat.debugDescription)")
            follows.append(quiet)
            for fd in follows { close(fd) }

            // Connections: past the limit, a request is answered 503 with a JSON error and closed.
            #expect(api.status() != nil)
            var idle: [Int32] = []
            let before = api.descriptorCount
            for _ in 0..<(Self.maximumConnections + 4) { idle.append(RawSocket.connect(socket)) }
            // Wait until the daemon has accepted them (each holds a descriptor there): connections are
            // accepted and counted on several event loops, so a request sent at once could overtake them.
            #expect(waitUntil(timeout: 10) { api.descriptorCount >= before + Self.maximumConnections })
            let surplus = RawSocket.request(socket, method: "GET", target: "/v1/status", timeout: 5)
            #expect(RawSocket.status(of: surplus) == 503, "\(surplus.prefix(400))")
            let surplusError = try? ControlAPI.decoder().decode(
                ErrorResponse.self, from: Data(RawSocket.body(of: surplus).utf8))
            #expect(
                surplusError?.error.message.contains("at most \(Self.maximumConnections) connections") == true,
                "\(surplus)")
            for fd in idle { close(fd) }
            #expect(waitUntil(timeout: 10) { api.status() != nil }, "the daemon answers once the idle clients left")

            // The slow clients were dropped at the request-head timeout, not before, not much after.
            #expect(waitUntil(timeout: Self.requestHeadTimeout + 15) { slowClosed.withLock { $0.count } == 2 })
            for seconds in slowClosed.withLock({ $0 }) {
                let closedAfter = try #require(seconds, "a slow client was never dropped")
                #expect(
                    closedAfter >= Self.requestHeadTimeout - 1 && closedAfter < Self.requestHeadTimeout + 5,
                    "dropped after \(closedAfter) s")
            }

            // Every descriptor those clients cost is given back.
            var now = 0
            let settled = waitUntil(timeout: 30) {
                now = api.descriptorCount
                return now <= baseline
            }
            #expect(settled, "the daemon holds \(now) descriptors, \(baseline) before the clients")
            print(
                "connection limits: \(tried.withLock { $0 }) vanishing clients; descriptors \(baseline) before, "
                    + "\(afterStorm) right after, \(now) settled; slow clients dropped after "
                    + "\(slowClosed.withLock { $0 }.map { $0.map { String(format: "%.1f s", $0) } ?? "never" })")
            try api.expectAliveAndGapless()
        }

        @Test func theMetricsPortHasTheSameKindOfLimits() throws {
            let port = 20_000 + Int((getpid() + 7_919) % 20_000)
            let api = try PacedGeneratorDaemon(extra: "[metrics]\nlisten = \"127.0.0.1:\(port)\"")
            defer { api.remove() }
            try #require(api.daemon.waitForLog("metrics endpoint listening"), "\(api.daemon.log)")
            #expect(RawSocket.status(of: RawSocket.requestTCP(port: port, target: "/metrics")) == 200)
            let baseline = try #require(api.steadyDescriptorCount(), "the descriptor count never settles")

            // A client that sends half a header is dropped after the request-head timeout.
            let slowClosed = Mutex<Double?>(nil)
            let slowConnected = DispatchSemaphore(value: 0)
            let slow = Thread {
                let fd = RawSocket.connectTCP(port: port)
                _ = RawSocket.send(fd, Array("GET /metrics HTTP/1.1\r\nHo".utf8))
                slowConnected.signal()
                let seconds = RawSocket.secondsUntilClosed(fd, timeout: Self.requestHeadTimeout + 10)
                close(fd)
                slowClosed.withLock { $0 = seconds ?? -1 }
            }
            slow.start()
            // The slow client is one of the 16 served, not one of the surplus refused after a second.
            slowConnected.wait()
            #expect(waitUntil(timeout: 10) { api.descriptorCount > baseline })

            // Past 16 connections, a request is answered 503 and closed.
            var idle: [Int32] = []
            let before = api.descriptorCount
            for _ in 0..<20 { idle.append(RawSocket.connectTCP(port: port)) }
            #expect(waitUntil(timeout: 10) { api.descriptorCount >= before + 15 })
            let surplus = RawSocket.requestTCP(port: port, target: "/metrics")
            #expect(RawSocket.status(of: surplus) == 503, "\(surplus.prefix(400))")
            #expect(surplus.contains("at most 16 connections on its metrics port"), "\(surplus)")
            for fd in idle where fd >= 0 { close(fd) }
            #expect(
                waitUntil(timeout: 10) {
                    RawSocket.status(of: RawSocket.requestTCP(port: port, target: "/metrics")) == 200
                })

            // 300 clients that vanish: connect and close, half a header, a request never read.
            DispatchQueue.concurrentPerform(iterations: 300) { number in
                let fd = RawSocket.connectTCP(port: port)
                guard fd >= 0 else { return }
                switch number % 3 {
                case 0: break
                case 1: _ = RawSocket.send(fd, Array("GET /metrics HTTP/1.1\r\nHo".utf8))
                default: _ = RawSocket.send(fd, Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                }
                close(fd)
            }

            #expect(waitUntil(timeout: Self.requestHeadTimeout + 15) { slowClosed.withLock { $0 } != nil })
            let closedAfter = slowClosed.withLock { $0 } ?? -1
            #expect(
                closedAfter >= Self.requestHeadTimeout - 1 && closedAfter < Self.requestHeadTimeout + 5,
                "dropped after \(closedAfter) s")
            var now = 0
            #expect(
                waitUntil(timeout: 30) {
                    now = api.descriptorCount
                    return now <= baseline
                }, "the daemon holds \(now) descriptors, \(baseline) before the clients")
            #expect(RawSocket.status(of: RawSocket.requestTCP(port: port, target: "/metrics")) == 200)
            try api.expectAliveAndGapless()
        }

        /// Closes the first of `follows` and opens a stream on `target` in its slot (retrying while the
        /// daemon has not yet noticed the close).
        static func openFollowAfterFreeing(_ follows: inout [Int32], socket: String, target: String) -> Int32 {
            close(follows.removeFirst())
            var opened = openFollow(socket, target)
            let deadline = Date().addingTimeInterval(10)
            while RawSocket.status(of: opened.head) != 200, Date() < deadline {
                close(opened.fd)
                usleep(200_000)
                opened = openFollow(socket, target)
            }
            #expect(RawSocket.status(of: opened.head) == 200, "a freed slot is not given again: \(opened.head)")
            return opened.fd
        }
    }
}
