// What MD5 and SHA-256 share: feeding a message through 64-byte blocks, and the length padding at the end.

/// A Merkle–Damgård digest over 64-byte blocks (``MD5``, ``SHA256``): the conformer compresses one block;
/// this buffers partial blocks and builds the final padding.
protocol BlockDigest {
    /// A partial block waiting for more bytes, and how many of its bytes are used.
    var block: [UInt8] { get set }
    var blockCount: Int { get set }
    /// Bytes of message so far.
    var totalBytes: UInt64 { get set }
    /// Mixes one 64-byte block into the state.
    mutating func compress(_ chunk: UnsafeRawBufferPointer)
}

extension BlockDigest {
    /// Adds `bytes` to the message: whole blocks straight from `bytes`, the rest through `block`.
    mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        totalBytes &+= UInt64(bytes.count)
        var index = 0
        while index < bytes.count {
            if blockCount == 0 && bytes.count - index >= 64 {
                compress(UnsafeRawBufferPointer(rebasing: bytes[index..<index + 64]))
                index += 64
                continue
            }
            let take = min(64 - blockCount, bytes.count - index)
            for offset in 0..<take { block[blockCount + offset] = bytes[index + offset] }
            blockCount += take
            index += take
            if blockCount == 64 {
                let copy = block
                copy.withUnsafeBytes { compress($0) }
                blockCount = 0
            }
        }
    }

    /// The padding that ends the message: 0x80, zeros to 56 bytes into a block, and the message's length in
    /// bits as 8 bytes (little-endian for MD5, big-endian for SHA-256).
    func padding(bigEndianLength: Bool) -> [UInt8] {
        let bits = totalBytes &* 8
        var padding: [UInt8] = [0x80]
        let used = Int(totalBytes % 64)
        padding += [UInt8](repeating: 0, count: (used < 56 ? 55 - used : 119 - used))
        let shifts =
            bigEndianLength ? Array(stride(from: 56, through: 0, by: -8)) : Array(stride(from: 0, to: 64, by: 8))
        for shift in shifts { padding.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        return padding
    }
}
