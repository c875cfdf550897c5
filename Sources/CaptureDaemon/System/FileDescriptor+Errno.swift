// The daemon's blocking writes and closes, through swift-system's FileDescriptor (which retries on EINTR).
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension FileDescriptor {
    /// Writes all of `bytes`, at the file offset or, given `offset`, at that absolute offset (`pwrite`,
    /// which leaves the file offset alone), retrying after partial writes and `EINTR`. Does not allocate
    /// unless it fails.
    /// - Returns: nil, or the errno of the failure.
    func writeAllOrErrno(_ bytes: UnsafeRawBufferPointer, atOffset offset: Int64? = nil) -> Int32? {
        do {
            if let offset {
                try writeAll(toAbsoluteOffset: offset, bytes)
            } else {
                try writeAll(bytes)
            }
            return nil
        } catch {
            return (error as? Errno)?.rawValue ?? EIO
        }
    }

    /// Closes the descriptor. `EINTR` counts as closed: Linux has released the descriptor by then, and
    /// closing it again could close one another thread just opened.
    /// - Returns: nil, or the errno of the failure.
    func closeOrErrno() -> Int32? {
        do {
            try close()
            return nil
        } catch {
            let code = (error as? Errno)?.rawValue ?? EIO
            return code == EINTR ? nil : code
        }
    }
}
