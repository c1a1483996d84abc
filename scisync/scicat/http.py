"""The HTTP plumbing under :class:`~scisync.scicat.client.ScicatClient`: bounded exchanges.

Every request is bounded by :class:`~scisync._util.limits.HttpLimits`:

- a connect timeout, a read timeout (silence between two bytes) and an overall
  *deadline* from sending to the last byte of the answer, enforced by a watchdog that
  shuts the socket down, so a server dripping one byte a second cannot hold a command;
- the answer body is streamed and capped (``max_response_bytes``, after decompression),
  so an endless or huge body ends in a clear error instead of a MemoryError;
- retries (connection failures, timeouts, 429 and 5xx) have a per-request count and a
  per-command budget; each retry is reported through ``on_retry`` before the pause, and
  ``Retry-After`` is honoured up to ``retry_after_max``;
- redirects are followed only within the same scheme, host and port: the token never
  goes to another server.

Only idempotent methods (GET, HEAD, PUT, PATCH, DELETE) are retried after the request
reached the server; a POST is never repeated because SciCat has no idempotency key and a
repeat could create a second dataset.  (A POST whose *connection* attempt timed out is
retried: it never reached the server.  A host name that does not resolve, a port where
nothing listens, or a certificate no trusted authority signed, is not retried at all:
retrying cannot fix a wrong URL or a missing CA bundle.)
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import os
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError

from scisync._util.limits import HttpLimits
from scisync._util.secrets import register_secret
from scisync.errors import ApiError
from scisync.scicat.problems import (
    describe_request,
    error_from_exception,
    never_connected,
    retry_cannot_help,
)
from scisync.scicat.tls import ca_bundle_setting

RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK_BYTES = 64 * 1024


def api_root(base_url: str) -> str:
    """``http://host:3000/api/v3`` -> ``http://host:3000/api``.

    Accepts the URL scitacean/pyscicat take (ending in ``/api/v3``), a v4 URL, the ``/api``
    root itself, or a bare server URL (``/api`` is then appended), with or without a
    trailing slash, behind a path prefix or not.  Anything else is refused with a message
    saying what to write instead (ValueError), never guessed at.
    """
    text = base_url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        guess = f"; did you mean 'http://{text}'?" if "://" not in text and text else ""
        raise ValueError(f"{base_url!r} is not an http(s) URL{guess}")
    if parts.username or parts.password:
        raise ValueError(
            "the SciCat URL must not carry a user name or password; "
            "name the token's environment variable with scicat.token_env"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"the SciCat URL must not have a query or fragment ({text!r})")
    segments = [segment for segment in parts.path.split("/") if segment]
    if "api" in (s.lower() for s in segments[:-2]) and segments[-1].lower() not in ("v3", "v4"):
        suggestion = _root_url(parts.scheme, parts.netloc, _through_version(segments))
        raise ValueError(
            f"{text!r} goes past the API root; give the root itself, e.g. {suggestion!r}"
        )
    if segments and _is_version(segments[-1]) and segments[-1].lower() not in ("v3", "v4"):
        raise ValueError(
            f"{text!r} names API {segments[-1]}; scisync speaks SciCat's v3/v4 API "
            "(write .../api/v3)"
        )
    if segments and segments[-1].lower() in ("v3", "v4"):
        segments.pop()
    if not segments or segments[-1].lower() != "api":
        segments.append("api")
    return _root_url(parts.scheme, parts.netloc, segments)


def _is_version(segment: str) -> bool:
    return len(segment) > 1 and segment[0] in "vV" and segment[1:].isdigit()


def _through_version(segments: list[str]) -> list[str]:
    lowered = [s.lower() for s in segments]
    at = lowered.index("api")
    keep = segments[: at + 1]
    if at + 1 < len(segments) and _is_version(segments[at + 1]):
        keep.append(segments[at + 1])
    return keep


def _root_url(scheme: str, netloc: str, segments: list[str]) -> str:
    return urlunsplit((scheme, netloc, "/" + "/".join(segments), "", ""))


class BearerAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer <token>`` to each request.

    Kept out of ``Session.headers`` so that printing the session's headers, or the
    session itself, can never show the token; ``repr`` of this object hides it too.
    """

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"

    __str__ = __repr__


# -- the deadline watchdog -------------------------------------------------------------


class _Deadline:
    """Shuts down the sockets of one exchange when its deadline passes.

    The read timeout only bounds the silence between two bytes; this bounds the whole
    exchange, headers included.  The shutdown makes the blocked read return, and the
    exchange then reports the deadline (``fired``) instead of a broken connection.
    The :data:`_watchdog` thread watches every exchange's deadline at once.
    """

    def __init__(self, seconds: float, watchdog: Watchdog | None = None) -> None:
        self.seconds = seconds
        self.fired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._watchdog = _watchdog if watchdog is None else watchdog

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.fired:
                _shutdown(sock)
            else:
                self._sockets.append(sock)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shutdown(sock)

    def __enter__(self) -> _Deadline:
        self._watchdog.add(self, time.monotonic() + self.seconds)
        _current.deadline = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._watchdog.cancel(self)
        _current.deadline = None


class Watchdog:
    """One thread that fires the deadlines of all exchanges, whichever thread runs them.

    A thread per exchange (a ``threading.Timer``) cost a thread start and its wake-up per
    request, most of it waiting for the interpreter lock behind busy upload workers.
    Deadlines wait in a heap ordered by due time; one condition variable wakes the thread
    when an earlier one arrives.  :meth:`cancel` and the firing hold the same lock, so a
    deadline cancelled (its exchange over, its connection back in the pool) never fires.

    The thread exits once it has watched nothing for ``idle_exit`` seconds, and
    :meth:`stop_if_idle` ends it at once: the plan's stamp walk forks only while this
    process runs a single thread (:mod:`scisync.desired.stamps`).
    """

    def __init__(self, idle_exit: float = 1.0) -> None:
        self.idle_exit = idle_exit
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._live: set[_Deadline] = set()  # added, neither cancelled nor fired yet
        self._order = itertools.count()  # ties in due time: first added fires first
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._idle_since = 0.0  # when the last live deadline went
        self._wakes_at = 0.0  # when the thread's current wait ends at the latest

    def add(self, deadline: _Deadline, due: float) -> None:
        """Watch *deadline*: at *due* (``time.monotonic``) it fires unless cancelled."""
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._order), deadline))
            self._live.add(deadline)
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="scisync-deadlines", daemon=True
                )
                self._thread.start()
            elif due < self._wakes_at:
                self._cond.notify()  # due before the thread next looks
            if len(self._heap) > 2 * len(self._live) + 64:
                # cancelled entries wait in the heap until their due time: bound them
                self._heap = [entry for entry in self._heap if entry[2] in self._live]
                heapq.heapify(self._heap)

    def cancel(self, deadline: _Deadline) -> None:
        """Stop watching *deadline*; once this returns it can no longer fire."""
        with self._cond:
            self._live.discard(deadline)
            if not self._live:
                self._heap.clear()
                self._idle_since = time.monotonic()

    def stop_if_idle(self) -> None:
        """End the thread now if it watches nothing, and wait (at most ``idle_exit``) until
        it has exited.  An exchange started meanwhile keeps it running until that ends."""
        with self._cond:
            thread = self._thread
            if thread is None or self._live:
                return
            self._stopping = True
            self._cond.notify()
        thread.join(self.idle_exit)

    @property
    def running(self) -> bool:
        with self._cond:
            return self._thread is not None

    def _run(self) -> None:
        """Fire what is due; look again at the next due time, or after ``idle_exit`` at the
        latest (nobody wakes the thread when an exchange ends: that would cost a switch
        per request); exit when idle."""
        with self._cond:
            self._idle_since = time.monotonic()
            while True:
                now = time.monotonic()
                self._fire_due(now)
                if self._live:
                    wait = min(self._heap[0][0] - now, self.idle_exit)
                else:
                    if self._stopping or now - self._idle_since >= self.idle_exit:
                        self._thread = None
                        return
                    wait = self._idle_since + self.idle_exit - now
                self._wakes_at = now + wait
                self._cond.wait(wait)

    def _fire_due(self, now: float) -> None:
        heap = self._heap
        while heap and (heap[0][0] <= now or heap[0][2] not in self._live):
            _, _, deadline = heapq.heappop(heap)
            if deadline in self._live:
                self._live.discard(deadline)
                deadline.fire()
                if not self._live:
                    self._idle_since = now

    def _forget_after_fork(self) -> None:
        """In a forked child the thread does not exist: start from nothing."""
        self._cond = threading.Condition(threading.Lock())
        self._heap, self._live, self._thread = [], set(), None


_watchdog = Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog._forget_after_fork)


def stop_idle_watchdog() -> None:
    """End the deadline thread if no exchange is in flight (before a fork, see
    :class:`Watchdog`)."""
    _watchdog.stop_if_idle()


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):  # already closed: nothing left to stop
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


class _WatchedMixin:
    sock: socket.socket | None

    def getresponse(self) -> Any:
        deadline: _Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(self.sock)
        return super().getresponse()  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedMixin, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """An adapter whose connections put their socket under the current deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Through an HTTP(S) proxy too, the socket is under the deadline."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are their own classes
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def environment_proxies(url: str) -> dict[str, str]:
    """The proxy for *url* from ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` and ``NO_PROXY``
    (either case), read as curl and requests read them; a loopback host (``localhost``,
    ``127.0.0.0/8``, ``::1``: the embedded sandbox) is always reached directly.

    Only the proxy settings: the session's ``trust_env`` stays off, so ``~/.netrc``
    credentials are never sent to SciCat.  A password in a proxy URL is registered as a
    secret, so no error message shows it.
    """
    if _is_loopback(urlsplit(url).hostname):
        return {}  # the embedded sandbox: no proxy elsewhere can reach this machine's loopback
    proxies: dict[str, str] = dict(requests.utils.get_environ_proxies(url))
    for proxy in proxies.values():
        with suppress(ValueError):
            register_secret(urlsplit(proxy).password)
    return proxies


def make_session(token: str | None, session: requests.Session | None = None) -> requests.Session:
    """A session with deadline-watched adapters, JSON accept header and optional bearer auth.

    Nothing here retries or follows redirects: :class:`Transport` does both, bounded.
    """
    chosen = session if session is not None else requests.Session()
    adapter = _WatchedAdapter(max_retries=0)
    chosen.mount("http://", adapter)
    chosen.mount("https://", adapter)
    chosen.headers["Accept"] = "application/json"
    # Compressed answers are decoded with a bound below, but asking for none is simpler.
    chosen.headers["Accept-Encoding"] = "identity"
    chosen.auth = BearerAuth(token) if token else None
    bundle = ca_bundle_setting()
    if bundle is not None:  # trust_env is off, so requests would not read it itself
        chosen.verify = bundle[1]
    # No ~/.netrc credentials sent behind the user's back; proxies are read explicitly
    # (environment_proxies), per request.
    chosen.trust_env = False
    return chosen


# -- retries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryScheduled:
    """A request failed and will be tried again after ``wait_s`` seconds."""

    request: str  # "GET http://host/api/v4/datasets" (never the query)
    failure: str  # what went wrong, e.g. "503 Service Unavailable" or "read timed out"
    attempt: int  # the retry about to be made: 1 for the first retry
    wait_s: float
    budget_left: int  # retries left for the whole command after this one

    def describe(self) -> str:
        return (
            f"{self.request} failed ({self.failure}); retry {self.attempt} in "
            f"{self.wait_s:.1f} s ({self.budget_left} retries left for this command)"
        )


RetryListener = Callable[[RetryScheduled], None]


class RetryBudget:
    """The retries one command may still spend, shared by all its requests and threads."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.spent = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.spent >= self.total:
                return False
            self.spent += 1
            return True

    @property
    def left(self) -> int:
        return max(0, self.total - self.spent)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


# -- the bounded exchange --------------------------------------------------------------


class _Failed(Exception):
    """One attempt failed in a way that may be retried (``reached``: the server saw it)."""

    def __init__(self, error: ApiError, *, reached: bool, failure: str) -> None:
        super().__init__(failure)
        self.error = error
        self.reached = reached
        self.failure = failure


class Transport:
    """Sends requests within :class:`HttpLimits`; returns responses with their body read."""

    def __init__(
        self,
        session: requests.Session,
        limits: HttpLimits,
        *,
        on_retry: RetryListener | None = None,
        budget: RetryBudget | None = None,
    ) -> None:
        self.session = session
        self.limits = limits
        self.on_retry = on_retry
        self.budget = budget or RetryBudget(limits.retry_budget)

    def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None,
        headers: Mapping[str, str],
        context: str | None,
    ) -> requests.Response:
        """The final answer (any status) after bounded retries and same-origin redirects."""
        attempt = 0
        while True:
            try:
                response = self._follow(method, url, data, headers, context)
            except _Failed as failed:
                if not self._may_retry(method, failed.reached):
                    raise failed.error from None
                attempt = self._pause(method, url, failed.failure, attempt, None, failed.error)
                continue
            if response.status_code not in RETRYABLE_STATUSES or method not in RETRYABLE_METHODS:
                return response
            failure = f"{response.status_code} {response.reason or ''}".strip()
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            try:
                attempt = self._pause(method, url, failure, attempt, wait, None)
            except _GiveUp:
                return response

    @staticmethod
    def _may_retry(method: str, reached: bool) -> bool:
        return not reached or method in RETRYABLE_METHODS

    def _pause(
        self,
        method: str,
        url: str,
        failure: str,
        attempt: int,
        retry_after: float | None,
        error: ApiError | None,
    ) -> int:
        """Wait before retry ``attempt + 1`` (reported first), or give up."""
        limits = self.limits
        if attempt >= limits.retries or not self.budget.take():
            if error is None:
                raise _GiveUp
            raise error from None
        attempt += 1
        wait = min(limits.backoff_max, limits.backoff_factor * 2 ** (attempt - 1))
        wait += random.uniform(0, limits.backoff_factor)
        if retry_after is not None:
            wait = min(max(wait, retry_after), limits.retry_after_max)
        if self.on_retry is not None:
            self.on_retry(
                RetryScheduled(
                    request=describe_request(method, url),
                    failure=failure,
                    attempt=attempt,
                    wait_s=wait,
                    budget_left=self.budget.left,
                )
            )
        time.sleep(wait)
        return attempt

    def _follow(
        self,
        method: str,
        url: str,
        data: bytes | None,
        headers: Mapping[str, str],
        context: str | None,
    ) -> requests.Response:
        """One attempt, following redirects that stay on the same origin."""
        current = url
        for _ in range(self.limits.max_redirects + 1):
            response = self._exchange(method, current, data, headers, context)
            if response.status_code not in REDIRECT_STATUSES:
                return response
            current = self._redirect_target(method, current, response, context)
        raise ApiError(
            f"SciCat redirected {describe_request(method, url)} more than "
            f"{self.limits.max_redirects} times",
            where=context or "SciCat",
            hint="set scicat.url to the address SciCat answers at without redirects "
            "(or raise scicat.limits.max_redirects)",
        )

    def _redirect_target(
        self, method: str, url: str, response: requests.Response, context: str | None
    ) -> str:
        location = response.headers.get("Location", "")
        target = urljoin(url, location)
        doing = describe_request(method, url)
        destination = _origin(target) if location else ""
        if destination != _origin(url):
            raise ApiError(
                f"SciCat redirected {doing} to another server "
                f"({destination or 'no usable Location'}); "
                "scisync does not follow redirects to another scheme, host or port",
                where=context or "SciCat",
                hint="set scicat.url to the address SciCat really answers at (the token is "
                "only ever sent to that one)",
                status=response.status_code,
            )
        keeps_method = response.status_code in (307, 308)
        if not keeps_method and method not in ("GET", "HEAD"):
            raise ApiError(
                f"SciCat answered {doing} with a redirect ({response.status_code}) that would "
                "turn it into a GET",
                where=context or "SciCat",
                hint="set scicat.url to the address SciCat answers at without redirects",
                status=response.status_code,
            )
        return target

    def _exchange(
        self,
        method: str,
        url: str,
        data: bytes | None,
        headers: Mapping[str, str],
        context: str | None,
    ) -> requests.Response:
        limits = self.limits
        with _Deadline(limits.deadline) as deadline:
            try:
                response = self.session.request(
                    method,
                    url,
                    data=data,
                    headers=dict(headers),
                    timeout=(limits.connect_timeout, limits.read_timeout),
                    allow_redirects=False,
                    stream=True,
                    proxies=environment_proxies(url),
                )
            except requests.RequestException as error:
                raise self._failure(error, deadline, method, url, context) from None
            try:
                body = read_body(response, limits.max_response_bytes)
            except BodyTooLarge as too_large:
                raise _body_too_large(method, url, context, too_large, limits) from None
            except (requests.RequestException, Urllib3Error, OSError, zlib.error) as error:
                raise self._failure(error, deadline, method, url, context) from None
            finally:
                response.close()
            if deadline.fired:  # the watchdog's shutdown can look like a short, clean answer
                raise self._failure(OSError("deadline"), deadline, method, url, context)
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]
        return response

    def _failure(
        self,
        error: Exception,
        deadline: _Deadline,
        method: str,
        url: str,
        context: str | None,
    ) -> Exception:
        if deadline.fired:
            return ApiError(
                f"SciCat did not finish answering {describe_request(method, url)} within the "
                f"deadline of {deadline.seconds:g} s",
                where=context or "SciCat",
                hint="SciCat or the network is too slow or stalled; try again later, or raise "
                "scicat.limits.deadline in the manifest",
            )
        if isinstance(error, zlib.error):
            return ApiError(
                f"SciCat's answer to {describe_request(method, url)} is not validly compressed",
                where=context or "SciCat",
                hint="check for a broken proxy in front of SciCat",
            )
        if isinstance(error, ReadTimeoutError | socket.timeout):
            error = requests.ReadTimeout(error)
        elif not isinstance(error, requests.RequestException):
            error = requests.ConnectionError(error)
        if retry_cannot_help(error):
            # A name that does not resolve, nothing listening, an untrusted certificate:
            # the user hears about it at once.
            return error_from_exception(error, method=method, url=url, context=context)
        reached = not never_connected(error)
        failure = _short_failure(error)
        api_error = error_from_exception(
            error, method=method, url=url, context=context, limits=self.limits
        )
        return _Failed(api_error, reached=reached, failure=failure)


class _GiveUp(Exception):
    """No retry left: the last answer is the result."""


class BodyTooLarge(Exception):
    def __init__(self, declared: bool) -> None:
        super().__init__("body too large")
        self.declared = declared


def _body_too_large(
    method: str, url: str, context: str | None, too_large: BodyTooLarge, limits: HttpLimits
) -> ApiError:
    announced = " (announced by its Content-Length)" if too_large.declared else ""
    return ApiError(
        f"SciCat's answer to {describe_request(method, url)} is larger than the limit of "
        f"{limits.max_response_bytes} bytes{announced}",
        where=context or "SciCat",
        hint="an answer this large is a broken or hostile server, or a very large page; "
        "raise scicat.limits.max_response_bytes in the manifest if it is expected",
    )


def read_body(response: requests.Response, cap: int) -> bytes:
    """The whole body, decompressed, or BodyTooLarge once it passes ``cap`` bytes."""
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > cap and not _encoding(response):
        raise BodyTooLarge(declared=True)
    parts: list[bytes] = []
    total = 0
    for piece in _decoded(response, cap):
        total += len(piece)
        if total > cap:
            raise BodyTooLarge(declared=False)
        parts.append(piece)
    return b"".join(parts)


def _encoding(response: requests.Response) -> str:
    return response.headers.get("Content-Encoding", "").strip().lower()


def _decoded(response: requests.Response, cap: int) -> Iterator[bytes]:
    raw = response.raw.stream(CHUNK_BYTES, decode_content=False)
    encoding = _encoding(response)
    if encoding in ("", "identity"):
        yield from raw
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise zlib.error(f"unsupported Content-Encoding {encoding!r}")
    # wbits 47: gzip or zlib header, detected; a bare deflate stream is tried as -15.
    decoder = zlib.decompressobj(47 if encoding != "deflate" else 15)
    for chunk in raw:
        data = chunk
        while data:
            # max_length bounds what one compressed chunk may expand to (zip bombs).
            yield decoder.decompress(data, cap + 1)
            data = decoder.unconsumed_tail


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


def _short_failure(error: requests.RequestException) -> str:
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connect timed out"
    if isinstance(error, requests.Timeout):
        return "read timed out"
    if never_connected(error):
        return "connection refused"
    return "connection broken"
