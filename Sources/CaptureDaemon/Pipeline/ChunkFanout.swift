// Hands every chunk to every consumer's queue.
import Synchronization

/// The set of consumer queues the reader publishes to. Consumers come and go while capture runs.
public final class ChunkFanout: Sendable {
    private let channels = Mutex<[ChunkChannel]>([])

    public init() {}

    public func add(_ channel: ChunkChannel) {
        channels.withLock { $0.append(channel) }
    }

    /// Removes and closes `channel`; its consumer drains what is queued and then finishes.
    public func remove(_ channel: ChunkChannel) {
        channels.withLock { $0.removeAll { $0 === channel } }
        channel.close()
    }

    /// Puts `new` in the place of `old` in one step, then closes `old`: every chunk goes to exactly one of
    /// them (a recording whose configuration changed hands over without losing or repeating audio).
    public func replace(_ old: ChunkChannel, with new: ChunkChannel) {
        channels.withLock { list in
            list.removeAll { $0 === old }
            list.append(new)
        }
        old.close()
    }

    /// Closes every channel (shutdown).
    public func closeAll() {
        let all = channels.withLock { list -> [ChunkChannel] in
            defer { list.removeAll() }
            return list
        }
        for channel in all { channel.close() }
    }

    /// Offers `chunk` to every queue and gives up the caller's reference. Never blocks on a consumer.
    public func publish(_ chunk: ChunkBuffer) {
        channels.withLock { list in
            for channel in list {
                chunk.retain()
                if !channel.offer(chunk) { chunk.release() }
            }
        }
        chunk.release()
    }
}
