"""Relaying one HTTP exchange to an upstream server: the core of the test proxies.

The recording forward proxy (test_scicat_proxy) and the TLS front (test_scicat_tls) both
pass a request on to the sandbox and copy its answer back; only how they pick the
upstream differs.
"""

from __future__ import annotations

import http.client
from http.server import BaseHTTPRequestHandler

_HOP_BY_HOP = {"transfer-encoding", "connection", "content-length"}


def relay(handler: BaseHTTPRequestHandler, host: str, port: int, path: str) -> None:
    """Send *handler*'s request to ``host:port`` as *path*; write the answer back."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else None
    headers = {k: v for k, v in handler.headers.items() if k.lower() != "proxy-connection"}
    upstream = http.client.HTTPConnection(host, port, timeout=30)
    try:
        upstream.request(handler.command, path, body, headers)
        answer = upstream.getresponse()
        data = answer.read()
    finally:
        upstream.close()
    handler.send_response(answer.status)
    for name, value in answer.getheaders():
        if name.lower() not in _HOP_BY_HOP:
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
