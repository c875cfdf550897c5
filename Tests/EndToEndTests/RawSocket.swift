// A deliberately crude client for the control socket: sends bytes as given, for misbehaving-client tests.
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

enum RawSocket {
    /// Connects to the Unix socket at `path`; returns the fd or -1.
    static func connect(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// Reads until end of stream or `timeout` seconds.
    static func readAll(_ fd: Int32, timeout: Double = 5) -> String {
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data += buffer[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// One request with `Connection: close`; returns the whole reply (status line, headers, body).
    static func request(_ path: String, method: String, target: String, body: [UInt8] = [], timeout: Double = 5)
        -> String
    {
        let fd = connect(path)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if !body.isEmpty || method == "POST" {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        guard send(fd, Array(head.utf8) + body) else { return "" }
        return readAll(fd, timeout: timeout)
    }

    /// The status code of a raw reply, or 0.
    static func status(of reply: String) -> Int {
        let parts = reply.split(separator: " ", maxSplits: 2)
        return parts.count > 1 ? Int(parts[1]) ?? 0 : 0
    }

    /// The body of a raw reply (after the blank line).
    static func body(of reply: String) -> String {
        guard let range = reply.range(of: "\r\n\r\n") else { return "" }
        return String(reply[range.upperBound...])
    }
}
