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
  GET  /wspage      a page that opens wss://<host>/wsecho, sends "hello-<browser>" and shows
                    "WS-OK:<echo>" when the echo comes back
  GET  /wsecho      a real WebSocket echo (RFC 6455, text frames); each message is appended
                    to PORTFILE.ws as "WS <message>"
  anything else     200 with a page holding TOKEN
"""
import base64
import hashlib
import json
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

portfile, token = sys.argv[1:3]
CHUNK = 64 * 1024


WSPAGE = """<!doctype html><html><head><title>ws</title></head><body><p id="s">WS-WAIT</p><script>
const who = navigator.userAgent.includes("Firefox") ? "firefox" : "chromium";
const ws = new WebSocket("wss://" + location.host + "/wsecho");
ws.onopen = () => ws.send("hello-" + who);
ws.onmessage = (e) => { document.getElementById("s").textContent = "WS-OK:" + e.data; };
ws.onerror = () => { document.getElementById("s").textContent = "WS-ERROR"; };
</script></body></html>
"""


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
        if url.path == "/wspage":
            return self.send_text(200, WSPAGE, "text/html")
        if url.path == "/wsecho" and self.headers.get("Upgrade", "").lower() == "websocket":
            return self.websocket_echo()
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

    def websocket_echo(self):
        key = self.headers["Sec-WebSocket-Key"].encode()
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack(">H", self.rfile.read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
            if opcode == 8:
                return
            if opcode != 1:
                continue
            with open(portfile + ".ws", "a") as log:
                log.write(f"WS {data.decode()}\n")
            reply = b"echo:" + data
            self.wfile.write(bytes([0x81, len(reply)]) + reply)
            self.wfile.flush()

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
