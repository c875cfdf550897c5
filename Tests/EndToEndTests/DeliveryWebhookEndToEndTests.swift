// Webhooks end to end with the built audiocapd: a receiver that fails its first posts and then goes down for
// 20 s still gets every event, in order, signed, each with an id that lets it drop the retries.
import CaptureCore
import Foundation
import TestSupport
import Testing

/// Checks each body's `X-Audiocap-Signature` with Python's hmac (an independent implementation), as the
/// dispatcher's documentation tells receivers to; prints the indexes of the posts that do not match.
private let signatureCheck = #"""
    import hashlib, hmac, json, sys
    secret = sys.argv[1].encode()
    posts = json.load(open(sys.argv[2]))
    for index, post in enumerate(posts):
        expected = "sha256=" + hmac.new(secret, post["body"].encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, post["headers"].get("x-audiocap-signature", "")):
            print(index)
    """#

extension EndToEnd {
    @Suite(.serialized, .enabled(if: ProcessRunner.which("python3") != nil, "the webhook receiver needs python3"))
    struct DeliveryWebhookEndToEndTests {
        @Test("a receiver that fails 3 posts and is down for 20 s gets every event in order, signed, with ids")
        func aFlakyReceiverGetsEveryEventInOrder() throws {
            let receiver = try WebhookReceiver()
            defer { receiver.stop() }
            try receiver.failNext(3)
            let secret = "fleet-secret-42"
            try DaemonFixture.with(environment: deliveryEnvironment) { dir in
                try dir.writeConfig(
                    deliveryConfig(
                        dir,
                        destinations: [
                            """
                            [[webhook]]
                            name = "central"
                            url = "\(receiver.url())"
                            events = ["segment.closed", "recording.*"]
                            secret = "\(secret)"
                            timeout_seconds = 2

                            """
                        ],
                        recordings: [DeliveryRecording(name: "r", directory: dir.file("r"))]))
                let daemon = try dir.launch()
                // The first three posts fail with 500; the retries then succeed.
                #expect(
                    waitUntil(timeout: 40) {
                        let posts = (try? receiver.received()) ?? []
                        return posts.filter { $0.status == 500 }.count >= 3 && posts.contains { $0.status == 200 }
                    }, "\(daemon.log)")

                // Down for 20 s while files keep closing.
                try receiver.goDown()
                let downAt = Date()
                let closedAtDown = daemon.events("segment.closed").count
                #expect(
                    waitUntil(timeout: 30) {
                        Date().timeIntervalSince(downAt) >= 20
                            && daemon.events("segment.closed").count >= closedAtDown + 8
                    }, "\(daemon.log)")
                try receiver.comeBack()

                // Every segment.closed so far arrives.
                let closed = daemon.events("segment.closed").compactMap { $0["segment.path"] }
                var posts: [ReceivedPost] = []
                let arrived = waitUntil(timeout: 90) {
                    posts = (try? receiver.received()) ?? []
                    let delivered = Set(posts.filter { $0.status == 200 }.compactMap { closedPath(of: $0) })
                    return closed.allSatisfy(delivered.contains)
                }
                #expect(arrived, "\(daemon.log)")
                #expect(daemon.terminate().status == 0, "\(daemon.log)")
                posts = try receiver.received()

                // Every post is signed with the secret (checked by Python's hmac), names the station and its id.
                let postsFile = dir.file("posts.json")
                try JSONSerialization.data(
                    withJSONObject: posts.map { ["body": $0.body, "headers": $0.headers] }
                ).write(to: URL(fileURLWithPath: postsFile))
                let check = try ProcessRunner.run("python3", ["-c", signatureCheck, secret, postsFile])
                #expect(check.status == 0, "\(String(decoding: check.stderr, as: UTF8.self))")
                #expect(String(decoding: check.stdout, as: UTF8.self).isEmpty, "posts with a bad signature (indexes)")
                var firstBody: [String: String] = [:]
                var order: [String] = []  // ids, in the order they first arrived
                for post in posts {
                    let body = try #require(
                        try JSONSerialization.jsonObject(with: Data(post.body.utf8)) as? [String: Any], "\(post.body)")
                    let id = try #require(body["id"] as? String, "\(post.body)")
                    #expect(!id.isEmpty)
                    #expect(post.headers["x-audiocap-event-id"] == id)
                    #expect(body["station"] as? String == deliveryStation, "\(post.body)")
                    #expect(post.headers["x-audiocap-event"] == body["kind"] as? String)
                    // A retry sends the same bytes.
                    if let first = firstBody[id] {
                        #expect(first == post.body, "id \(id) sent with two bodies")
                    } else {
                        firstBody[id] = post.body
                        order.append(id)
                    }
                }
                #expect(posts.prefix(3).allSatisfy { $0.status == 500 })
                // Dropping duplicates by id leaves each event once, in the order the daemon logged them.
                let accepted = Set(
                    posts.filter { $0.status == 200 }.compactMap { post -> String? in
                        (try? JSONSerialization.jsonObject(with: Data(post.body.utf8)) as? [String: Any])?["id"]
                            as? String
                    })
                #expect(order.allSatisfy(accepted.contains), "an event never answered 200")
                let closedInOrder = order.compactMap { id -> String? in
                    firstBody[id].flatMap { closedPath(ofBody: $0) }
                }
                #expect(Array(closedInOrder.prefix(closed.count)) == closed, "got \(closedInOrder)\nclosed \(closed)")
                let times = order.compactMap { id in
                    firstBody[id].flatMap {
                        (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["time"] as? Double
                    }
                }
                #expect(times == times.sorted(), "events out of order: \(times)")
                // Only the kinds asked for.
                let kinds = Set(firstBody.values.compactMap { kind(ofBody: $0) })
                #expect(kinds.allSatisfy { $0 == "segment.closed" || $0.hasPrefix("recording.") }, "\(kinds)")
                print(
                    "delivery-figures test=webhook posts=\(posts.count) events=\(order.count) "
                        + "failed_posts=\(posts.filter { $0.status != 200 }.count)")
            }
        }
    }
}

private func closedPath(of post: ReceivedPost) -> String? { closedPath(ofBody: post.body) }

/// `fields["segment.path"]` of a `segment.closed` body.
private func closedPath(ofBody body: String) -> String? {
    guard let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
        json["kind"] as? String == "segment.closed", let fields = json["fields"] as? [String: Any]
    else { return nil }
    return fields["segment.path"] as? String
}

private func kind(ofBody body: String) -> String? {
    (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["kind"] as? String
}
