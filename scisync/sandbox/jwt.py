"""HS256 JSON Web Tokens with the standard library (the backend signs with JWT_SECRET)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class TokenError(Exception):
    """The token is malformed or its signature does not match."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise TokenError("bad base64") from exc


def encode(payload: dict[str, Any], secret: bytes) -> str:
    """Sign *payload* with HMAC-SHA256."""
    header = _b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64encode(json.dumps(payload, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}".encode("ascii")
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{_b64encode(signature)}"


def decode(token: str, secret: bytes) -> dict[str, Any]:
    """Check the signature and return the payload; expiry is the caller's business."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("not three parts")
    header_text, body_text, signature_text = parts
    try:
        header = json.loads(_b64decode(header_text))
        payload = json.loads(_b64decode(body_text))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("bad JSON") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("unsupported algorithm")
    expected = hmac.new(secret, f"{header_text}.{body_text}".encode("ascii"), hashlib.sha256)
    if not hmac.compare_digest(expected.digest(), _b64decode(signature_text)):
        raise TokenError("bad signature")
    if not isinstance(payload, dict):
        raise TokenError("payload is not an object")
    return payload
