"""The web page's sign-in: the API's own JWT, carried in a cookie instead of a header.

The cookie is HttpOnly (scripts cannot read it) and SameSite=Strict (other sites cannot
make the browser send it), and it is only honoured by the web pages: the JSON API keeps
taking tokens from the Authorization header alone, so no form elsewhere can drive it.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from scisync.sandbox.auth import ANONYMOUS, Authenticator, Caller, SessionExpired

COOKIE = "scisync_sandbox_session"


def token_from(cookie_header: str | None) -> str | None:
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def caller_from(auth: Authenticator, cookie_header: str | None) -> tuple[Caller, bool]:
    """The visitor, and whether they carried a session that has expired."""
    token = token_from(cookie_header)
    if token is None:
        return ANONYMOUS, False
    try:
        return auth.caller_for(f"Bearer {token}"), False
    except SessionExpired:
        return ANONYMOUS, True


def set_cookie(token: str, max_age: int) -> str:
    return f"{COOKIE}={token}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict"


def clear_cookie() -> str:
    return f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (never ``//host``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
