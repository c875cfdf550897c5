"""Forwards TCP on 127.0.0.1 to a Unix socket, for tools that speak only TCP (schemathesis in FuzzTests).

Usage: forward.py UNIX_SOCKET_PATH. Listens on a free port, prints it on one line, and forwards every
connection until standard input closes (the test that started it ends).
"""

import asyncio
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main(path):
    async def handle(tcp_reader, tcp_writer):
        try:
            unix_reader, unix_writer = await asyncio.open_unix_connection(path)
        except OSError:
            tcp_writer.close()
            return
        await asyncio.gather(pipe(tcp_reader, unix_writer), pipe(unix_reader, tcp_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    # Ends when standard input reaches its end.
    await loop.run_in_executor(None, sys.stdin.buffer.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
