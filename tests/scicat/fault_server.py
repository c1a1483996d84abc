"""A scripted HTTP server on 127.0.0.1 for fault injection below the client.

Each request pops the next scripted answer (or gets the default one) and is recorded
with its arrival time, so tests check what really went over the wire: how many
attempts, which headers, which URLs. Tests import it from here by its unique name
(conftest.py only holds the fixtures), so any set of test folders collects together.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: object = None  # dict/list -> JSON, str -> text, bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def filter(self) -> dict[str, Any]:
        values = parse_qs(self.query).get("filter")
        assert values, f"no filter in {self.query!r}"
        parsed = json.loads(values[0])
        assert isinstance(parsed, dict)
        return parsed


Responder = Callable[[Recorded], Answer]


class FaultServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: list[Answer] = []
        self.responder: Responder | None = None
        self.default = Answer(200, {})
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                record = Recorded(
                    method=self.command,
                    path=parts.path,  # raw: tests check the percent-encoding
                    query=parts.query,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.monotonic(),
                )
                answer = server._answer(record)
                if answer.delay:
                    time.sleep(answer.delay)
                payload = _encode(answer.body)
                try:
                    self.send_response(answer.status)
                    content_type = (
                        "application/json" if not isinstance(answer.body, str) else "text/html"
                    )
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _answer(self, record: Recorded) -> Answer:
        with self._lock:
            self.requests.append(record)
            if self.script:
                return self.script.pop(0)
        if self.responder is not None:
            return self.responder(record)
        return self.default

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v3"

    def queue(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _encode(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()
