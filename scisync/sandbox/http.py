"""Request and response values shared by the router and the endpoint handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scisync.sandbox.auth import Caller


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # as sent, e.g. /api/v3/datasets/20.500%2Fabc
    params: dict[str, str]  # path parameters, percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None when the request had no JSON body
    content_type: str
    caller: Caller

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def merge_patch(self) -> bool:
        return self.content_type == "application/merge-patch+json"


@dataclass(frozen=True)
class Response:
    status: int
    body: Any = None  # JSON-serialisable; None means an empty body
    headers: dict[str, str] = field(default_factory=dict)
    payload: bytes | None = None  # already-encoded JSON; sent instead of body
    content_type: str = "application/json; charset=utf-8"


class HttpError(Exception):
    """Answer with *status* and *body* (the backend's error shapes)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body


_ERROR_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Payload Too Large",
}


def error(status: int, message: Any, *, with_error_name: bool = True) -> HttpError:
    """The standard NestJS HttpException body ``{message, error, statusCode}``."""
    body: dict[str, Any] = {"message": message}
    if with_error_name and status in _ERROR_NAMES:
        body["error"] = _ERROR_NAMES[status]
    body["statusCode"] = status
    return HttpError(status, body)


def unauthenticated() -> HttpError:
    """``AuthenticatedPoliciesGuard``'s answer to a caller without a (valid) token."""
    return error(401, "Unauthenticated")


def forbidden(message: str = "Forbidden resource") -> HttpError:
    return error(403, message)


def internal_error() -> HttpError:
    # Non-HTTP exceptions (e.g. a duplicate key) leave the backend as this body.
    return HttpError(500, {"statusCode": 500, "message": "Internal server error"})
