"""Keep secrets out of every output.

Whenever scisync reads a token or password it registers the value here.  The CLI's
error boundary, the log filter and the renderers pass text through :func:`redact`, so
a secret that slips into a server message or an exception is masked.
"""

from __future__ import annotations

import threading

_MASK = "***"
_MIN_SECRET_LENGTH = 4  # masking a 1-3 character "secret" would mangle ordinary text
_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember *value* so that :func:`redact` masks it from now on."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return *text* with every registered secret replaced by ``***``."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


def forget_secrets() -> None:
    """Drop all registered secrets (tests use this between cases)."""
    with _lock:
        _secrets.clear()
