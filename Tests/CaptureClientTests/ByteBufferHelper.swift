// ByteBuffers from strings, for the line splitter test.

import NIOCore

enum ByteBufferHelper {
    static func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
}
