"""A hostile SciCat for tests: serves records exactly as given, and misbehaves on request.

scisync's sandbox validates what it stores, so it cannot play an attacker.  This server
answers the read routes scisync uses (datasets with their included origdatablocks and
attachments, samples, whoami, login) with whatever records the test hands it, unchecked,
and on request breaks HTTP the way broken or hostile servers do::

    with HostileScicat(datasets=[{"pid": "p/1", "origdatablocks": [...]}]) as server:
        server.misbehave(Drip(), path="/api/v4/datasets")
        ...  # point scisync at server.url

It binds 127.0.0.1 only, answers from daemon threads, and bounds itself: an endless or
dripping answer stops when the client goes away, after ``max_seconds``, or at ``stop()``.
Writes (POST/PATCH) are answered with the body echoed back (a pid added) and recorded in
``server.writes``; nothing is validated.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

JsonRecord = dict[str, Any]


# -- misbehaviours ---------------------------------------------------------------------


@dataclass(frozen=True)
class Drip:
    """Send the headers (no length), then one body byte every ``interval`` seconds."""

    interval: float = 1.0


@dataclass(frozen=True)
class StallBeforeHeaders:
    """Accept the request, then say nothing for ``seconds`` before answering normally."""

    seconds: float = 3600.0


@dataclass(frozen=True)
class DripHeaders:
    """Send a status line, then one header byte every ``interval`` seconds."""

    interval: float = 0.2


@dataclass(frozen=True)
class EndlessChunked:
    """A chunked body that never ends (``chunk_bytes`` of JSON-ish filler per chunk)."""

    chunk_bytes: int = 64 * 1024


@dataclass(frozen=True)
class HugeBody:
    """A body of ``size`` bytes, announced by Content-Length unless ``announce`` is False."""

    size: int = 256 * 1024 * 1024
    announce: bool = True


@dataclass(frozen=True)
class GzipBomb:
    """A small gzip body that inflates to ``inflated`` bytes of zeros."""

    inflated: int = 256 * 1024 * 1024


@dataclass(frozen=True)
class WrongContentType:
    """Answer 200 with ``body`` as ``content_type`` (an HTML login page by default)."""

    body: str = "<html><body>Please sign in</body></html>"
    content_type: str = "text/html"


@dataclass(frozen=True)
class Raw:
    """Answer ``status`` with ``body`` bytes exactly and the given headers."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)


@dataclass(frozen=True)
class Redirect:
    """Answer ``status`` with ``Location: location`` (absolute, or a path on this server)."""

    location: str
    status: int = 302


@dataclass(frozen=True)
class RetryAfterStorm:
    """Always answer ``status`` with ``Retry-After: retry_after``."""

    status: int = 503
    retry_after: str = "1"


@dataclass(frozen=True)
class Reset:
    """Close the connection with a TCP reset before answering."""


@dataclass(frozen=True)
class DeepJson:
    """A JSON body nested ``depth`` arrays deep."""

    depth: int = 100_000


Misbehaviour = (
    Drip
    | StallBeforeHeaders
    | DripHeaders
    | EndlessChunked
    | HugeBody
    | GzipBomb
    | WrongContentType
    | Raw
    | Redirect
    | RetryAfterStorm
    | Reset
    | DeepJson
)


@dataclass
class _Rule:
    behaviour: Misbehaviour
    path: str | None
    method: str | None
    times: int | None


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    at: float


@dataclass
class _State:
    datasets: list[JsonRecord]
    samples: list[JsonRecord]
    rules: list[_Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    writes: list[tuple[str, str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class HostileScicat:
    """A SciCat look-alike on 127.0.0.1 serving ``datasets`` and ``samples`` unchecked."""

    def __init__(
        self,
        datasets: Sequence[JsonRecord] = (),
        samples: Sequence[JsonRecord] = (),
        *,
        max_seconds: float = 120.0,
    ) -> None:
        self.max_seconds = max_seconds
        self._state = _State(datasets=list(datasets), samples=list(samples))
        handler = type("HostileHandler", (_Handler,), {"state": self._state, "owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._started = False

    # -- life cycle

    def start(self) -> HostileScicat:
        self._thread.start()
        self._started = True
        return self

    def stop(self) -> None:
        self._state.stopping.set()
        if self._started:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> HostileScicat:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what tests use

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The base URL clients take (``http://127.0.0.1:<port>/api/v3``)."""
        return f"{self.origin}/api/v3"

    @property
    def requests(self) -> list[Seen]:
        with self._state.lock:
            return list(self._state.seen)

    @property
    def writes(self) -> list[tuple[str, str, Any]]:
        """``(method, path, body)`` of every write received."""
        with self._state.lock:
            return list(self._state.writes)

    def serve(
        self, datasets: Sequence[JsonRecord] = (), samples: Sequence[JsonRecord] = ()
    ) -> None:
        """Replace the records served."""
        with self._state.lock:
            self._state.datasets = list(datasets)
            self._state.samples = list(samples)

    def misbehave(
        self,
        behaviour: Misbehaviour,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = None,
    ) -> None:
        """Misbehave on requests whose path starts with ``path`` (all if None).

        ``times`` limits how often (then the server answers normally again); the first
        matching rule wins.
        """
        if isinstance(behaviour, GzipBomb):
            _gzip_zeros(behaviour.inflated)  # compressed now, not while a client waits
        with self._state.lock:
            self._state.rules.append(_Rule(behaviour, path, method, times))

    def behave(self) -> None:
        """Forget every misbehaviour."""
        with self._state.lock:
            self._state.rules.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
    state: _State
    owner: HostileScicat

    def log_message(self, format: str, *args: object) -> None:
        pass  # a test server stays quiet

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 16 * 1024 * 1024)) if length else b""
        parts = urlsplit(self.path)
        seen = Seen(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            at=time.monotonic(),
        )
        with self.state.lock:
            self.state.seen.append(seen)
            rule = self._rule(seen)
        try:
            if rule is not None:
                _misbehave(self, rule.behaviour, self.owner.max_seconds)
            else:
                status, document = _route(self.state, seen, body)
                _send_json(self, status, document)
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            self.close_connection = True  # the client gave up: that is the point

    def _rule(self, seen: Seen) -> _Rule | None:
        for rule in self.state.rules:
            if rule.path is not None and not seen.path.startswith(rule.path):
                continue
            if rule.method is not None and rule.method != seen.method:
                continue
            if rule.times is not None:
                if rule.times <= 0:
                    continue
                rule.times -= 1
            return rule
        return None

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _handle


# -- normal answers --------------------------------------------------------------------


def _route(state: _State, seen: Seen, body: bytes) -> tuple[int, Any]:
    path = seen.path.rstrip("/")
    if seen.method in ("POST", "PATCH", "PUT"):
        document = _json_or_none(body)
        with state.lock:
            state.writes.append((seen.method, path, document))
        if path.endswith("/auth/login"):
            return 201, {"access_token": "hostile-token", "id": "hostile-token", "ttl": 3600}
        answer = dict(document) if isinstance(document, dict) else {}
        answer.setdefault("pid", f"hostile/{len(state.writes)}")
        return 201 if seen.method == "POST" else 200, answer
    if path.endswith("/auth/whoami"):
        return 200, {"username": "hostile", "currentGroups": ["group1"]}
    if path == "/api/v4/datasets":
        return 200, _find(state.datasets, seen.query)
    if path.startswith("/api/v4/datasets/"):
        return _one(state.datasets, "pid", unquote(path.removeprefix("/api/v4/datasets/")))
    if path == "/api/v3/samples":
        return 200, _find(state.samples, seen.query)
    if path.startswith("/api/v3/samples/"):
        return _one(state.samples, "sampleId", unquote(path.removeprefix("/api/v3/samples/")))
    return 404, {"statusCode": 404, "message": f"Cannot {seen.method} {path}"}


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _one(records: list[JsonRecord], key: str, value: str) -> tuple[int, Any]:
    for record in records:
        if record.get(key) == value:
            return 200, record
    return 404, {"statusCode": 404, "message": "Not Found"}


def _find(records: list[JsonRecord], query: str) -> list[JsonRecord]:
    """The records a scisync ``{"where": {field: {"$in"|"inq": [...]}}}`` filter selects."""
    raw = parse_qs(query).get("filter", ["{}"])[0]
    try:
        filter_ = json.loads(raw)
    except ValueError:
        return []
    where = filter_.get("where", {}) if isinstance(filter_, dict) else {}
    limits = filter_.get("limits", {}) if isinstance(filter_, dict) else {}
    found = [record for record in records if _matches(record, where)]
    skip = int(limits.get("skip", 0) or 0)
    limit = int(limits.get("limit", 0) or 0) or len(found)
    return found[skip : skip + limit]


def _matches(record: JsonRecord, where: Any) -> bool:
    if not isinstance(where, dict):
        return True
    for dotted, condition in where.items():
        value: Any = record
        for part in str(dotted).split("."):
            value = value.get(part) if isinstance(value, dict) else None
        wanted = condition.get("$in", condition.get("inq")) if isinstance(condition, dict) else None
        if isinstance(wanted, list) and value not in wanted:
            return False
    return True


def _send_json(handler: BaseHTTPRequestHandler, status: int, document: Any) -> None:
    payload = json.dumps(document).encode("utf-8")
    _send(handler, status, payload, (("Content-Type", "application/json"),))


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: bytes,
    headers: Sequence[tuple[str, str]],
) -> None:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    if not any(name.lower() == "content-length" for name, _ in headers):
        handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


# -- misbehaving answers ---------------------------------------------------------------


def _misbehave(handler: _Handler, behaviour: Misbehaviour, max_seconds: float) -> None:
    stop_at = time.monotonic() + max_seconds
    stopping = handler.state.stopping

    def running() -> bool:
        return not stopping.is_set() and time.monotonic() < stop_at

    if not isinstance(behaviour, GzipBomb | WrongContentType | Redirect | RetryAfterStorm):
        handler.close_connection = True  # the answer is broken: no keep-alive after it
    if isinstance(behaviour, Drip | DripHeaders | EndlessChunked | StallBeforeHeaders):
        _slow(handler, behaviour, running, max_seconds)
    elif isinstance(behaviour, HugeBody):
        _huge(handler, behaviour, running)
    elif isinstance(behaviour, Reset):
        linger = struct.pack("ii", 1, 0)  # linger 0: close() sends RST
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        handler.connection.close()
    else:
        status, payload, headers = _canned(behaviour)
        _send(handler, status, payload, headers)


def _canned(behaviour: Misbehaviour) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
    """Status, body and headers of the misbehaviours that are one wrong answer."""
    json_type = ("Content-Type", "application/json")
    if isinstance(behaviour, GzipBomb):
        return 200, _gzip_zeros(behaviour.inflated), (json_type, ("Content-Encoding", "gzip"))
    if isinstance(behaviour, WrongContentType):
        return 200, behaviour.body.encode(), (("Content-Type", behaviour.content_type),)
    if isinstance(behaviour, Raw):
        return behaviour.status, behaviour.body, behaviour.headers
    if isinstance(behaviour, Redirect):
        return behaviour.status, b"", (("Location", behaviour.location),)
    if isinstance(behaviour, RetryAfterStorm):
        payload = json.dumps({"statusCode": behaviour.status, "message": "busy"}).encode()
        return behaviour.status, payload, (json_type, ("Retry-After", behaviour.retry_after))
    if isinstance(behaviour, DeepJson):
        return 200, b"[" * behaviour.depth + b"]" * behaviour.depth, (json_type,)
    raise TypeError(f"not a one-answer misbehaviour: {behaviour!r}")


def _slow(
    handler: _Handler,
    behaviour: Drip | DripHeaders | EndlessChunked | StallBeforeHeaders,
    running: Callable[[], bool],
    max_seconds: float,
) -> None:
    stopping = handler.state.stopping
    write = handler.wfile.write
    if isinstance(behaviour, StallBeforeHeaders):
        stopping.wait(min(behaviour.seconds, max_seconds))
        if running():
            _send_json(handler, 200, [])
        return
    if isinstance(behaviour, DripHeaders):
        write(b"HTTP/1.1 200 OK\r\n")
        while running():
            write(b"X")
            stopping.wait(behaviour.interval)
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    if isinstance(behaviour, Drip):
        handler.send_header("Connection", "close")  # no length: the body ends at close
        handler.end_headers()
        write(b"[")
        while running():
            write(b" ")
            stopping.wait(behaviour.interval)
        return
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    write(b"1\r\n[\r\n")
    piece = b'{"pid":"x"},' * (behaviour.chunk_bytes // 12)
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    while running():
        write(frame)


def _huge(handler: _Handler, behaviour: HugeBody, running: Callable[[], bool]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    if behaviour.announce:
        handler.send_header("Content-Length", str(behaviour.size))
    handler.end_headers()
    block = b" " * (1024 * 1024)
    sent = 0
    while sent < behaviour.size and running():
        piece = block[: behaviour.size - sent]
        handler.wfile.write(piece)
        sent += len(piece)


_BOMBS: dict[int, bytes] = {}


def _gzip_zeros(size: int) -> bytes:
    """gzip of ``size`` zero bytes, compressed a megabyte at a time (never held whole)."""
    if size not in _BOMBS:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
        block = bytes(1024 * 1024)
        parts = [compressor.compress(block) for _ in range(max(1, size // len(block)))]
        parts.append(compressor.flush())
        _BOMBS[size] = b"".join(parts)
    return _BOMBS[size]
