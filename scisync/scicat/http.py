"""The HTTP plumbing under :class:`~scisync.scicat.client.ScicatClient`.

One ``requests.Session`` per client, with urllib3's ``Retry`` doing the retrying:
connection failures, 429 and 5xx are retried with exponential backoff plus jitter, and a
``Retry-After`` header is honoured.  Only idempotent methods (GET, HEAD, PUT, PATCH,
DELETE) are retried after the request reached the server; a POST is never repeated
because SciCat has no idempotency key and a repeat could create a second dataset.  (A
POST whose *connection* was refused is retried: it never reached the server.)
"""

from __future__ import annotations

import inspect
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_MAX_SECONDS = 120  # a server asking for an hour's pause gets a clear error instead
BACKOFF_MAX_SECONDS = 30.0


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


def fails_fast(error: Exception | None) -> bool:
    """A wrong host or port: the name does not resolve, or nothing listens there.

    Retrying cannot fix either, so the user hears about it at once instead of after
    seconds of silent backoff.
    """
    if isinstance(error, NameResolutionError):
        return True
    if isinstance(error, NewConnectionError):
        cause = error.__cause__ or error.__context__
        return isinstance(cause, ConnectionRefusedError) or "refused" in str(error).lower()
    return False


class _Retry(Retry):
    """urllib3's Retry, except that a wrong host or port is not retried."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if fails_fast(error):
            raise MaxRetryError(_pool, url or "", error) from error  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)


def make_retry(retries: int, backoff_factor: float) -> Retry:
    options: dict[str, object] = {
        "total": retries,
        "connect": retries,
        "read": retries,
        "status": retries,
        "other": 0,
        "redirect": 3,
        "allowed_methods": RETRYABLE_METHODS,
        "status_forcelist": RETRYABLE_STATUSES,
        "backoff_factor": backoff_factor,
        "backoff_max": BACKOFF_MAX_SECONDS,
        "backoff_jitter": backoff_factor,
        "respect_retry_after_header": True,
        # Give the last answer back instead of raising MaxRetryError, so the caller maps
        # the server's own 503/429 message.
        "raise_on_status": False,
    }
    if "retry_after_max" in inspect.signature(Retry.__init__).parameters:
        options["retry_after_max"] = RETRY_AFTER_MAX_SECONDS
    return _Retry(**options)  # type: ignore[arg-type]


def make_session(
    token: str | None,
    *,
    retries: int,
    backoff_factor: float,
    session: requests.Session | None = None,
) -> requests.Session:
    """A session with retrying adapters, JSON accept header and (optionally) bearer auth."""
    chosen = session if session is not None else requests.Session()
    adapter = HTTPAdapter(max_retries=make_retry(retries, backoff_factor))
    chosen.mount("http://", adapter)
    chosen.mount("https://", adapter)
    chosen.headers["Accept"] = "application/json"
    chosen.auth = BearerAuth(token) if token else None
    return chosen
