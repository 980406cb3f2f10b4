#!/usr/bin/env python3
"""Plain-HTTP dev server stand-in for the proxy tests.

usage: backend.py PORTFILE TOKEN

Binds 127.0.0.1 on a free port, writes the port to PORTFILE, and answers:
  GET  /headers     the request headers as JSON (lower-case names), plus "token"
  GET  /sse         two server-sent events, 1 s apart, each carrying its send time
  GET  /slow?s=N    waits N seconds, then 200 "slow done"
  GET  /big?mb=N    N MiB of zeros, streamed in 64 KiB chunks
  POST /upload      reads the body in chunks and answers with its length
  GET  /ws          with Upgrade: websocket, 101 and then echoes raw bytes until EOF
  anything else     200 with a page holding TOKEN
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

portfile, token = sys.argv[1:3]
CHUNK = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_text(self, status, text, ctype="text/plain"):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/headers":
            headers = {k.lower(): v for k, v in self.headers.items()}
            headers["token"] = token
            return self.send_text(200, json.dumps(headers), "application/json")
        if url.path == "/sse":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for i in range(2):
                self.wfile.write(f"data: {i} {time.time():.6f}\n\n".encode())
                self.wfile.flush()
                time.sleep(1)
            return
        if url.path == "/slow":
            time.sleep(float(query.get("s", ["3"])[0]))
            return self.send_text(200, "slow done\n")
        if url.path == "/big":
            total = int(query.get("mb", ["1"])[0]) * 1024 * 1024
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            zeros = bytes(CHUNK)
            sent = 0
            while sent < total:
                n = min(CHUNK, total - sent)
                self.wfile.write(zeros[:n])
                sent += n
            return
        if url.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while True:
                data = self.connection.recv(4096)
                if not data:
                    break
                self.connection.sendall(b"echo:" + data)
            self.close_connection = True
            return
        return self.send_text(200, f"<html><body>{token}</body></html>\n", "text/html")

    def do_POST(self):
        remaining = int(self.headers.get("Content-Length", "0"))
        got = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                while size:
                    n = len(self.rfile.read(min(CHUNK, size)))
                    size -= n
                    got += n
                self.rfile.readline()
        else:
            while remaining:
                n = len(self.rfile.read(min(CHUNK, remaining)))
                if n == 0:
                    break
                remaining -= n
                got += n
        return self.send_text(200, f"{got}\n")


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that leave early (the 504 test) are expected


server = Server(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
