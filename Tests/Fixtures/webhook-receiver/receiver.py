#!/usr/bin/env python3
"""A webhook receiver for tests (stdlib only), driven through its standard input.

Listens on 127.0.0.1 (the port given as argv[1], or a free one with 0) and records every POST: its path,
headers, body and the status it answered. Prints `ready PORT` once it listens. Then reads one command a
line from stdin and answers each with one line on stdout:

  fail N      the next N posts are answered 500 (and still recorded)  -> ok
  down        stops listening and cuts open connections: refused until up -> ok
  up          listens again on the same port                           -> ok
  received    every post so far, oldest first, as one JSON line:
              [{"path", "headers": {lower-case name: value}, "body" (text), "status"}, ...]
  quit        exits                                                    -> ok

End of stdin also ends it, so it never outlives its test.
"""
import http.server
import json
import socket
import sys
import threading

lock = threading.Lock()
received = []
failures = [0]


# Open connections (kept alive by clients), cut when the receiver goes down.
connections = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with lock:
            connections.add(self.connection)

    def finish(self):
        with lock:
            connections.discard(self.connection)
        super().finish()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock:
            if failures[0] > 0:
                failures[0] -= 1
                status = 500
            else:
                status = 200
            received.append({
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "status": status,
            })
        reply = b"ok\n" if status == 200 else b"failing on purpose\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def start(port):
    server = Server(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def stop(server):
    server.shutdown()
    server.server_close()
    with lock:
        open_connections = list(connections)
    for connection in open_connections:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    server = start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    port = server.server_address[1]
    print(f"ready {port}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        command = words[0]
        if command == "fail":
            with lock:
                failures[0] = int(words[1])
            print("ok", flush=True)
        elif command == "down":
            if server is not None:
                stop(server)
                server = None
            print("ok", flush=True)
        elif command == "up":
            if server is None:
                server = start(port)
            print("ok", flush=True)
        elif command == "received":
            with lock:
                print(json.dumps(received), flush=True)
        elif command == "quit":
            print("ok", flush=True)
            break
        else:
            print(f"error unknown command {command}", flush=True)
    if server is not None:
        stop(server)


if __name__ == "__main__":
    main()
