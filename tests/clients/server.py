#!/usr/bin/env python3
"""Tiny HTTPS server for the trust probes.

usage: server.py CERT KEY PORTFILE LOGFILE TOKEN

Listens on 127.0.0.1 on a free port (bind to port 0, no race), writes the port
to PORTFILE once it accepts connections, answers every GET with a page that
contains TOKEN, and appends one line per event to LOGFILE:

    CONN <peerport>
    HANDSHAKE-FAIL <peerport> <reason>
    HANDSHAKE-OK <peerport> sni=<name> alpn=<proto>
    GET <peerport> <path>

Handshakes run in per-connection threads, so a client that stalls (a browser
sitting on its certificate error page) never blocks the others.
"""
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

cert, key, portfile, logfile, token = sys.argv[1:6]

_lock = threading.Lock()


def log(line):
    with _lock:
        with open(logfile, "a", encoding="utf-8") as f:
            f.write(line.replace("\n", " ") + "\n")
            f.flush()


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"])
_sni = threading.local()


def _on_sni(sslobj, name, _ctx):
    _sni.name = name
    return None


ctx.sni_callback = _on_sni

PAGE = (
    "<!DOCTYPE html><html><head><title>localca probe</title></head>"
    f"<body><p id=\"token\">{token}</p></body></html>\n"
).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "localca-probe"

    def do_GET(self):
        log(f"GET {self.client_address[1]} {self.path}")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(PAGE)

    def do_HEAD(self):
        self.do_GET()

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        peer = client_address[1]
        log(f"CONN {peer}")
        request.settimeout(15)
        _sni.name = None
        try:
            tls = ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log(f"HANDSHAKE-FAIL {peer} {type(e).__name__}: {e}")
            return
        try:
            log(f"HANDSHAKE-OK {peer} sni={_sni.name} alpn={tls.selected_alpn_protocol()}")
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError) as e:
            log(f"REQUEST-FAIL {peer} {type(e).__name__}: {e}")
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        log(f"ERROR {client_address[1]} {sys.exc_info()[1]!r}")


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, portfile)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
