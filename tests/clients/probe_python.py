#!/usr/bin/env python3
"""python3 client with its default trust: ssl.create_default_context().

usage: probe_python.py HOST PORT PATH TOKEN   (connects to 127.0.0.1:PORT, SNI/hostname HOST)
prints one line: accept | reject: DETAIL | error: DETAIL
"""
import socket
import ssl
import sys

host, port, path, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
try:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
except ssl.SSLCertVerificationError as e:
    print(f"reject: {e.verify_message} (verify code {e.verify_code})")
    sys.exit(0)
except Exception as e:  # noqa: BLE001 - anything else is not a trust verdict
    print(f"error: {type(e).__name__}: {e}")
    sys.exit(0)
if token.encode() in data:
    print("accept")
else:
    print(f"error: handshake ok but token missing from response ({len(data)} bytes)")
