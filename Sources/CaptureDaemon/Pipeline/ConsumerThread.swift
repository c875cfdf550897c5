// Runs one consumer on its own thread, draining its channel.
import Foundation

/// Something that takes every chunk of the capture, on its own thread.
public protocol ChunkConsumer: AnyObject {
    /// Handles one chunk. Called on the consumer's thread only, in frame order.
    func consume(_ chunk: ChunkBuffer)
    /// Called once after the last chunk (channel closed and drained).
    func finish()
}

/// A dedicated thread that takes chunks from `channel`, hands them to `consumer`, and releases them.
/// Blocking work (file writes, fdatasync) happens here and nowhere else.
public final class ConsumerThread: Sendable {
    public let channel: ChunkChannel
    private let finished = Completion<Void>()
    // @unchecked: the consumer is touched only by the thread started in `start()` after hand-off.
    private struct Box: @unchecked Sendable { let consumer: any ChunkConsumer }
    private let box: Box

    public init(channel: ChunkChannel, consumer: any ChunkConsumer) {
        self.channel = channel
        self.box = Box(consumer: consumer)
    }

    public func start() {
        let box = self.box
        let channel = self.channel
        let finished = self.finished
        DedicatedThread.start(name: "ac-\(channel.name)") {
            // Wakes once per batch of the channel and takes every chunk waiting.
            while channel.awaitChunks() {
                while let chunk = channel.poll() {
                    box.consumer.consume(chunk)
                    chunk.release()
                }
            }
            box.consumer.finish()
            finished.complete(())
        }
    }

    /// Waits until the consumer has finished (after its channel was closed).
    public func done() async { await finished.value() }
}
