// The durable state of delivery (the outbox of uploads, the webhooks' queues): one SQLite file and the one
// thread that touches it.
import Dispatch
import Foundation
import Synchronization

/// `[storage] state`/`delivery.sqlite`, opened once and used only on its own thread (`ac-delivery`), so
/// no async thread ever waits on its fsyncs. Components create their own tables in it.
public final class DeliveryDatabase: Sendable {
    public static let fileName = "delivery.sqlite"
    public let path: String
    private let worker: BlockingWorker
    /// Touched only on `worker`'s one thread: every use goes through `run` or `runBlocking`.
    private let database: SQLiteDatabase

    /// Opens (creating) the database in `stateDirectory` (created as needed). Blocking: call at start-up.
    public init(stateDirectory: String) throws {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        path = stateDirectory + "/" + Self.fileName
        database = try SQLiteDatabase(path: path)
        worker = BlockingWorker(name: "ac-delivery")
    }

    /// Runs `body` with the connection on the database's thread; returns its result or rethrows.
    public func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) async throws -> T {
        let database = self.database
        return try await worker.run(throwing: { try body(database) })
    }

    /// Runs `body` with the connection, blocking the calling thread until it is done on the database's
    /// thread. Only for start-up and for threads of our own (never Swift's shared executor).
    public func runBlocking<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws -> T) throws -> T {
        let database = self.database
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        worker.submit {
            result.withLock { $0 = Result { try body(database) } }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
