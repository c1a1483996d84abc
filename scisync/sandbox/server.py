"""The HTTP side: routing, body limits, fault injection, request counters, lifecycle."""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from scisync.errors import ConfigError
from scisync.sandbox.api import Api
from scisync.sandbox.auth import (
    ANONYMOUS,
    Authenticator,
    SessionExpired,
    load_accounts,
    load_secret,
)
from scisync.sandbox.http import HttpError, Request, Response, error
from scisync.sandbox.published_metadata import MetadataCheck
from scisync.sandbox.settings import SandboxSettings
from scisync.sandbox.store import IncompatibleDataFolder, Store
from scisync.sandbox.web.pages import MAX_FORM_BYTES, WebPages, WebRequest
from scisync.sandbox.web.session import caller_from

Handler = Callable[[Request], Response]

_JSON_TYPES = ("application/json", "application/merge-patch+json")
_KEEP_ERRORS = 20  # tracebacks of unexpected handler errors kept for errors()
_DRAIN_LIMIT = 64 * 1024 * 1024  # read (and discard) oversize bodies up to this, then hang up


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # e.g. "/v3/datasets/{pid}"; also the stats key
    pattern: re.Pattern[str]
    handler: Handler
    is_login: bool = False


def _compile(template: str) -> re.Pattern[str]:
    parts = []
    for segment in template.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    # Express matches routes case-insensitively; a trailing slash is tolerated.
    return re.compile("^/api/" + "/".join(parts) + "/?$", re.IGNORECASE)


def build_routes(api: Api) -> list[Route]:
    table: list[tuple[str, str, Handler]] = [
        ("POST", "/v3/auth/login", api.login),
        ("POST", "/v3/auth/ldap", api.ldap_login),
        ("POST", "/v3/auth/msad", api.ldap_login),
        ("POST", "/v3/users/login", api.users_login),
        ("GET", "/v3/auth/whoami", api.whoami),
        ("POST", "/v3/auth/logout", api.logout),
        # v3 datasets (specific routes before /{pid})
        ("GET", "/v3/datasets/count", lambda r: api.dataset_count(r, "v3")),
        ("GET", "/v3/datasets/fullquery", api.dataset_fullquery),
        ("GET", "/v3/datasets/findOne", lambda r: api.dataset_list(r, "v3", one=True)),
        ("POST", "/v3/datasets/isValid", lambda r: api.dataset_is_valid(r, "v3")),
        ("GET", "/v3/datasets", lambda r: api.dataset_list(r, "v3")),
        ("POST", "/v3/datasets", lambda r: api.dataset_create(r, "v3")),
        (
            "GET",
            "/v3/datasets/{pid}/origdatablocks/count",
            lambda r: api.block_list_for_dataset(r, count=True),
        ),
        ("GET", "/v3/datasets/{pid}/origdatablocks", api.block_list_for_dataset),
        (
            "POST",
            "/v3/datasets/{pid}/origdatablocks",
            lambda r: api.block_create(r, "v3", nested=True),
        ),
        ("PATCH", "/v3/datasets/{pid}/origdatablocks/{id}", lambda r: api.block_patch(r, "v3")),
        (
            "GET",
            "/v3/datasets/{pid}/attachments/count",
            lambda r: api.attachment_list_v3(r, count=True),
        ),
        ("GET", "/v3/datasets/{pid}/attachments", api.attachment_list_v3),
        ("POST", "/v3/datasets/{pid}/attachments", api.attachment_create_v3),
        ("GET", "/v3/datasets/{pid}", lambda r: api.dataset_get(r, "v3")),
        ("PATCH", "/v3/datasets/{pid}", lambda r: api.dataset_patch(r, "v3")),
        ("DELETE", "/v3/datasets/{pid}", api.dataset_delete),
        # v3 origdatablocks
        ("GET", "/v3/origdatablocks", lambda r: api.block_list(r, "v3")),
        ("POST", "/v3/origdatablocks", lambda r: api.block_create(r, "v3")),
        ("GET", "/v3/origdatablocks/{id}", lambda r: api.block_get(r, "v3")),
        ("PATCH", "/v3/origdatablocks/{id}", lambda r: api.block_patch(r, "v3")),
        ("DELETE", "/v3/origdatablocks/{id}", api.block_delete),
        # v3 samples
        ("GET", "/v3/samples/count", lambda r: api.sample_list(r, count=True)),
        ("GET", "/v3/samples/findOne", lambda r: api.sample_list(r, one=True)),
        ("GET", "/v3/samples", api.sample_list),
        ("POST", "/v3/samples", api.sample_create),
        ("GET", "/v3/samples/{id}", api.sample_get),
        ("PATCH", "/v3/samples/{id}", api.sample_patch),
        ("DELETE", "/v3/samples/{id}", api.sample_delete),
        # v4 datasets
        ("GET", "/v4/datasets/count", lambda r: api.dataset_count(r, "v4")),
        ("GET", "/v4/datasets/findOne", lambda r: api.dataset_list(r, "v4", one=True)),
        ("POST", "/v4/datasets/isValid", lambda r: api.dataset_is_valid(r, "v4")),
        ("GET", "/v4/datasets/public", api.dataset_public_list),
        ("GET", "/v4/datasets/public/findOne", lambda r: api.dataset_public_list(r, one=True)),
        ("GET", "/v4/datasets/public/{pid}", api.dataset_public_get),
        ("GET", "/v4/datasets", lambda r: api.dataset_list(r, "v4")),
        ("POST", "/v4/datasets", lambda r: api.dataset_create(r, "v4")),
        ("GET", "/v4/datasets/{pid}", lambda r: api.dataset_get(r, "v4")),
        ("PATCH", "/v4/datasets/{pid}", lambda r: api.dataset_patch(r, "v4")),
        ("DELETE", "/v4/datasets/{pid}", api.dataset_delete),
        # v4 origdatablocks and attachments
        ("GET", "/v4/origdatablocks", lambda r: api.block_list(r, "v4")),
        ("POST", "/v4/origdatablocks", lambda r: api.block_create(r, "v4")),
        ("GET", "/v4/origdatablocks/{id}", lambda r: api.block_get(r, "v4")),
        ("PATCH", "/v4/origdatablocks/{id}", lambda r: api.block_patch(r, "v4")),
        ("DELETE", "/v4/origdatablocks/{id}", api.block_delete),
        ("GET", "/v4/attachments", api.attachment_list),
        ("POST", "/v4/attachments", api.attachment_create),
        ("GET", "/v4/attachments/{id}", api.attachment_get),
        ("PATCH", "/v4/attachments/{id}", api.attachment_patch),
        ("DELETE", "/v4/attachments/{id}", api.attachment_delete),
        # v4 published data
        ("GET", "/v4/publisheddata/count", lambda r: api.published_list(r, count=True)),
        ("GET", "/v4/publisheddata", api.published_list),
        ("POST", "/v4/publisheddata", api.published_create),
        ("POST", "/v4/publisheddata/{id}/publish", api.published_publish),
        ("POST", "/v4/publisheddata/{id}/register", api.published_register),
        ("POST", "/v4/publisheddata/{id}/amend", api.published_amend),
        ("POST", "/v4/publisheddata/{id}/resync", api.published_resync),
        ("GET", "/v4/publisheddata/{id}", api.published_get),
        ("PATCH", "/v4/publisheddata/{id}", api.published_patch),
        ("DELETE", "/v4/publisheddata/{id}", api.published_delete),
    ]
    return [
        Route(method, template, _compile(template), handler, _is_login(template))
        for method, template, handler in table
    ]


def _is_login(template: str) -> bool:
    return template.endswith(("/login", "/auth/ldap", "/auth/msad"))


class Faults:
    """Seeded fault injection (see :class:`scisync.sandbox.settings.FaultInjection`)."""

    def __init__(self, settings: SandboxSettings) -> None:
        self._config = settings.faults
        self._rng = random.Random(self._config.seed)
        self._lock = threading.Lock()

    def draw(self, route: Route | None) -> str | None:
        config = self._config
        if config.rate <= 0 or not config.kinds:
            return None
        if route is not None and route.is_login and not config.include_login:
            return None
        with self._lock:
            if self._rng.random() >= config.rate:
                return None
            return self._rng.choice(config.kinds)


class _App:
    """What the request handler threads share."""

    def __init__(self, data_dir: Path, settings: SandboxSettings) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        try:
            self.store = Store(data_dir)
        except IncompatibleDataFolder as exc:
            raise ConfigError(
                f"the sandbox data folder is from an incompatible scisync: {exc}",
                where=str(data_dir),
                hint="it only holds sandbox data: move it away or delete it to start afresh",
            ) from None
        self.auth = Authenticator(
            load_accounts(data_dir, settings), load_secret(data_dir), settings
        )
        self.api = Api(self.store, self.auth, settings)
        self.api.published_metadata = MetadataCheck.for_data_dir(data_dir)
        self.routes = build_routes(self.api)
        self.web = WebPages(self.store, self.auth, settings)
        self.faults = Faults(settings)
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._errors: list[str] = []
        self._seconds: dict[str, float] = {}

    def record_error(self, text: str) -> None:
        with self._counts_lock:
            self._counts["internal error"] += 1
            self._errors.append(text)
            del self._errors[:-_KEEP_ERRORS]

    def add_time(self, key: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        with self._counts_lock:
            self._seconds[key] = self._seconds.get(key, 0.0) + elapsed

    def timings(self) -> dict[str, float]:
        with self._counts_lock:
            return dict(self._seconds)

    def errors(self) -> list[str]:
        with self._counts_lock:
            return list(self._errors)

    def count(self, key: str) -> None:
        with self._counts_lock:
            self._counts[key] += 1

    def stats(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self._counts)

    def reset_stats(self) -> None:
        with self._counts_lock:
            self._counts.clear()
            self._seconds.clear()

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None, {}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "scisync-sandbox"
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's
        # algorithm and delayed ACKs add ~40 ms to every keep-alive request.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # library code never prints; use stats() to observe traffic

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        app = self.server.app
        split = urlsplit(self.path)
        if not _is_api(split.path):
            self._serve_web(split.path, split.query)
            return
        # Match on the raw path so that an encoded "/" in a pid stays inside its segment.
        route, params = app.match(self.command, split.path)
        app.count(f"{self.command} {route.template if route else 'unmatched'}")
        fault = app.faults.draw(route)
        if fault is not None:
            app.count(f"fault {fault}")
        if fault == "drop":
            self._drop()
            return
        started = time.perf_counter()
        try:
            response = self._respond(route, params, split.path, split.query)
        except HttpError as exc:
            response = Response(exc.status, exc.body)
        except Exception:  # a bug must not kill the server: answer like NestJS does
            app.record_error(traceback.format_exc())
            response = Response(500, {"statusCode": 500, "message": "Internal server error"})
        app.add_time(f"{self.command} {route.template if route else 'unmatched'}", started)
        if fault == "drop-after":
            self._drop(body_read=True)
            return
        if fault in ("502", "503"):
            status = int(fault)
            text = "Bad Gateway" if status == 502 else "Service Unavailable"
            response = Response(status, {"statusCode": status, "message": text})
        self._send(response)

    def _serve_web(self, path: str, query_text: str) -> None:
        """The web page (everything outside ``/api``): no fault injection, HTML answers."""
        app = self.server.app
        key = f"{self.command} web {app.web.route_name(self.command, path)}"
        app.count(key)
        started = time.perf_counter()
        try:
            form = self._read_form()
            caller, expired = caller_from(app.auth, self.headers.get("Cookie"))
            request = WebRequest(
                method=self.command,
                path=path,
                query=parse_qs(query_text, keep_blank_values=True),
                form=form,
                caller=caller,
                expired=expired,
            )
            response = app.web.handle(request)
        except HttpError as exc:
            response = Response(exc.status, payload=str(exc.body).encode(), content_type=_TEXT)
        except Exception:
            app.record_error(traceback.format_exc())
            response = Response(500, payload=b"Internal server error", content_type=_TEXT)
        app.add_time(key, started)
        self._send(response)

    def _read_form(self) -> dict[str, list[str]]:
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit() or "chunked" in self.headers.get("Transfer-Encoding", ""):
            self.close_connection = True
            raise error(400, "a form needs a Content-Length")
        length = int(length_text)
        if length > MAX_FORM_BYTES:
            self.close_connection = True
            raise error(413, "request entity too large")
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return {}
        return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)

    def _respond(
        self, route: Route | None, params: dict[str, str], path: str, query_text: str
    ) -> Response:
        app = self.server.app
        body_bytes = self._read_body()
        if route is None:
            raise error(404, f"Cannot {self.command} {path}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = parse_qs(query_text, keep_blank_values=True)
        authorization = headers.get("authorization")
        if not authorization and query.get("access_token"):
            # The backend copies ?access_token= verbatim into the Authorization header.
            authorization = query["access_token"][-1]
        try:
            caller = app.auth.caller_for(authorization)
        except SessionExpired:
            if route.is_login:
                caller = ANONYMOUS
            else:
                raise error(401, "SESSION_EXPIRED") from None
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        body: Any = None
        if body_bytes and content_type in _JSON_TYPES:
            try:
                body = json.loads(body_bytes.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise error(400, f"Unexpected token in JSON: {exc}") from None
        if body is None and self.command in ("POST", "PATCH", "PUT"):
            body = {}  # express leaves req.body as {} when nothing was parsed
        request = Request(
            method=self.command,
            path=path,
            params=params,
            query=query,
            headers=headers,
            body=body,
            content_type=content_type,
            caller=caller,
        )
        return route.handler(request)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True  # the body's end is unknown: the stream is lost
            raise error(400, "Invalid Content-Length") from None
        if length > self.server.app.settings.max_body_bytes:
            if length <= _DRAIN_LIMIT:
                self._discard(length)
            else:
                self.close_connection = True
            raise error(413, "request entity too large")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        limit = self.server.app.settings.max_body_bytes
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise error(400, "Invalid chunked body") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers up to the blank line
                    pass
                return b"".join(parts)
            total += size
            if total > limit:
                self.close_connection = True
                raise error(413, "request entity too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _discard(self, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _send(self, response: Response) -> None:
        payload = b""
        if response.payload is not None:
            payload = response.payload
        elif response.body is not None:
            payload = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self, *, body_read: bool = False) -> None:
        self.close_connection = True
        if not body_read:
            with contextlib.suppress(HttpError):
                self._read_body()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


_TEXT = "text/plain; charset=utf-8"


def _is_api(path: str) -> bool:
    return path[:5].lower() in ("/api/", "/api")


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        self.app = app
        super().__init__(address, _RequestHandler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            # One thread per client connection: without this, every connection would
            # leave an SQLite connection (two file descriptors) open until shutdown.
            self.app.store.release_thread()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr here; library code never prints.
        # Clients hanging up mid-request (dropped faults, killed processes) are normal.
        failure = sys.exc_info()[1]
        if isinstance(failure, ConnectionError | TimeoutError):
            self.app.count("connection error")
        else:
            self.app.record_error(traceback.format_exc())


@dataclass(frozen=True)
class SandboxInfo:
    """What ``scisync sandbox`` shows the user on start."""

    url: str
    root_url: str
    web_url: str  # the catalogue's web page
    data_dir: Path
    accounts: tuple[tuple[str, str, tuple[str, ...]], ...]  # username, password, groups
    accounts_file: Path
    ldap_accounts: frozenset[str] = frozenset()  # log in at auth/ldap, not auth/login


class SandboxServer:
    """A SciCat-compatible server on a background thread.

    ``url`` is the base URL clients such as scitacean and pyscicat take
    (``http://127.0.0.1:<port>/api/v3``).  Usable as a context manager.
    """

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        settings: SandboxSettings | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.settings = settings or SandboxSettings()
        self._host = host
        self._port = port
        self._app: _App | None = None
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._app = _App(self.data_dir, self.settings)
        self._httpd = _HttpServer((self._host, self._port), self._app)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scisync-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted (for the CLI)."""
        if self._httpd is None:
            self._app = _App(self.data_dir, self.settings)
            self._httpd = _HttpServer((self._host, self._port), self._app)
        try:
            self._httpd.serve_forever()
        finally:
            self._close()

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._close()

    def _close(self) -> None:
        if self._httpd is not None:
            self._httpd.server_close()
        if self._app is not None:
            self._app.store.close()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- information ---------------------------------------------------------------------
    def _running(self) -> tuple[_App, _HttpServer]:
        if self._app is None or self._httpd is None:
            raise RuntimeError("the sandbox server is not running; call start() first")
        return self._app, self._httpd

    @property
    def port(self) -> int:
        _, httpd = self._running()
        return int(httpd.server_address[1])

    @property
    def root_url(self) -> str:
        _, httpd = self._running()
        host = str(httpd.server_address[0])
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/api"

    @property
    def url(self) -> str:
        return f"{self.root_url}/v3"

    @property
    def web_url(self) -> str:
        """The web page: the catalogue in a browser (``/``)."""
        return self.root_url.removesuffix("/api") + "/"

    def stats(self) -> dict[str, int]:
        """Requests served so far, keyed ``"METHOD /vN/route/{param}"``."""
        app, _ = self._running()
        return app.stats()

    def timings(self) -> dict[str, float]:
        """Seconds spent handling requests (body read to response built), keyed like stats()."""
        app, _ = self._running()
        return app.timings()

    def reset_stats(self) -> None:
        """Zero the request counters and timings (e.g. between benchmark phases)."""
        app, _ = self._running()
        app.reset_stats()

    def errors(self) -> list[str]:
        """Tracebacks of unexpected server errors (answered 500), newest last; for debugging."""
        app, _ = self._running()
        return app.errors()

    def login(self, username: str, expires_in: int | None = None) -> str:
        """A token for a configured account (tests use this to skip the login call).

        ``expires_in`` overrides JWT_EXPIRES_IN (seconds; negative gives an expired token).
        """
        app, _ = self._running()
        account = app.auth.accounts.get(username)
        if account is None:
            raise KeyError(f"no sandbox account named {username!r}")
        return app.auth.issue(account, expires_in=expires_in)

    def info(self) -> SandboxInfo:
        app, _ = self._running()
        accounts = tuple((a.username, a.password, a.groups) for a in app.auth.accounts.values())
        return SandboxInfo(
            url=self.url,
            root_url=self.root_url,
            web_url=self.web_url,
            data_dir=self.data_dir,
            accounts=accounts,
            accounts_file=self.data_dir / self.settings.functional_accounts_file,
            ldap_accounts=frozenset(
                a.username for a in app.auth.accounts.values() if a.strategy == "ldap"
            ),
        )


def run_forever(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    settings: SandboxSettings | None = None,
    on_start: Callable[[SandboxInfo], None] | None = None,
) -> None:
    """Serve until KeyboardInterrupt; ``on_start(info)`` runs once the port is bound."""
    server = SandboxServer(data_dir, host=host, port=port, settings=settings)
    server.start()
    try:
        if on_start is not None:
            on_start(server.info())
        threading.Event().wait()
    finally:
        server.stop()
