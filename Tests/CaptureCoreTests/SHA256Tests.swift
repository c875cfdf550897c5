// SHA-256, HMAC-SHA256 and MD5 against the published test vectors (FIPS 180-4 examples, RFC 4231, RFC 1321).
import CaptureCore
import Testing

@Suite struct SHA256Tests {
    @Test func knownDigests() {
        #expect(SHA256.hash([]).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hash(Array("abc".utf8)).hexString
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hexString
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func aMillionBytesInUnevenPieces() {
        var digest = SHA256()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
        var left = 1_000_000
        while left > 0 {
            let take = min(left, piece.count)
            digest.update(Array(piece[0..<take]))
            left -= take
        }
        #expect(digest.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func md5MatchesRFC1321() {
        var empty = MD5()
        empty.update([])
        #expect(empty.finalize().hexString == "d41d8cd98f00b204e9800998ecf8427e")
        var abc = MD5()
        abc.update(Array("abc".utf8))
        #expect(abc.finalize().hexString == "900150983cd24fb0d6963f7d28e17f72")
        var million = MD5()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { million.update(piece) }
        #expect(million.finalize().hexString == "7707d6ae4e027c70eea2a935c2296f21")
    }

    @Test func hmacMatchesRFC4231() {
        #expect(
            HMACSHA256.authenticationCode(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
                .hexString == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Test case 6: a key longer than the block.
        #expect(
            HMACSHA256.authenticationCode(
                key: [UInt8](repeating: 0xaa, count: 131),
                message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
            ).hexString == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }
}
