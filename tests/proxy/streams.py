#!/usr/bin/env python3
"""Streaming checks through the proxy, with python's default trust.

usage: streams.py sse|ws|h2ws HOST PORT
  sse   reads the backend's two server-sent events as they come; prints the delay between the
        backend sending each event and this client reading it, and fails when the first event
        only arrives after the second was sent (buffered instead of streamed)
  ws    HTTP/1.1 upgrade to the backend's echo: sends two messages, expects them echoed
Connects to 127.0.0.1:PORT with SNI HOST. Exit 0 and "ok ..." on success.
"""
import socket
import ssl
import sys
import time

mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context()
ctx.set_alpn_protocols(["http/1.1"])
sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=host)


def read_head(f):
    lines = []
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            return lines
        lines.append(line.decode().strip())


if mode == "sse":
    sock.sendall(f"GET /sse HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
    f = sock.makefile("rb")
    head = read_head(f)
    assert head[0].split()[1] == "200", head
    chunked = any(h.lower() == "transfer-encoding: chunked" for h in head)
    delays = []
    while len(delays) < 2:
        line = f.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            now = time.time()
            _, sent = line[6:].split()
            delays.append(now - float(sent))
    assert len(delays) == 2, f"got {len(delays)} events"
    # The backend sends the second event 1 s after the first: reading the first one later than
    # that means the proxy held it back.
    assert delays[0] < 0.9, f"first event arrived {delays[0]:.3f}s after it was sent"
    print(f"ok sse delays {delays[0]*1000:.1f}ms {delays[1]*1000:.1f}ms chunked={chunked}")
elif mode == "ws":
    sock.sendall(
        (f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
    f = sock.makefile("rb")
    head = read_head(f)
    assert head[0].split()[1] == "101", head
    for msg in (b"hello", b"again"):
        sock.sendall(msg)
        got = sock.recv(100)
        assert got == b"echo:" + msg, got
    print("ok ws echo through the upgrade")
else:
    sys.exit(f"unknown mode {mode}")
