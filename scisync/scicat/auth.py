"""Where scisync's SciCat token comes from.

:func:`resolve_token` tries, in order:

1. the environment variable named by ``scicat.token_env`` (default ``SCICAT_TOKEN``);
2. ``scicat.username_env`` / ``scicat.password_env``: log in at ``POST /api/v3/auth/login``
   (local and functional accounts), or at ``POST /api/v3/auth/ldap`` when
   ``scicat.login`` is ``ldap`` (facility accounts);
3. the credential store written by ``scisync login``.

None of them -> None (anonymous; SciCat then shows only published datasets).  A token
known to be expired is reported as such, with what to do, instead of being sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests

from scisync._util.limits import HttpLimits
from scisync._util.secrets import register_secret
from scisync.errors import AuthError, ConfigError
from scisync.manifest.model import ScicatConfig
from scisync.scicat.client import ScicatClient
from scisync.scicat.credentials import CredentialStore, StoredCredential
from scisync.scicat.http import RetryListener, api_root


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime | None
    username: str | None = None

    def __repr__(self) -> str:
        return f"LoginResult(token=***, expires_at={self.expires_at!r}, username={self.username!r})"


LoginMethod = Literal["local", "ldap"]
LOGIN_METHODS: tuple[LoginMethod, ...] = ("local", "ldap")
_LOGIN_PATHS: dict[LoginMethod, str] = {"local": "v3/auth/login", "ldap": "v3/auth/ldap"}

EXPIRES_SOON = timedelta(minutes=15)
"""A token with less time left than this is announced when it is stored or used.

Not an hour: SciCat's default JWT_EXPIRES_IN is one hour, so every fresh login would be
announced and the warning would mean nothing."""


def token_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, or None.

    Read with PyJWT without checking the signature (only SciCat knows the secret): this is
    only to warn early, SciCat still decides whether the token is valid.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        try:
            return datetime.fromtimestamp(exp, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def expires_soon(
    expires_at: datetime | None, now: datetime | None = None, within: timedelta = EXPIRES_SOON
) -> bool:
    """Will the token expire within ``within`` (but has not yet)?"""
    if expires_at is None:
        return False
    moment = now or datetime.now(tz=UTC)
    return not is_expired(expires_at, moment) and expires_at - moment < within


def login_page_url(base_url: str) -> str:
    """The SciCat web page where users log in: the API's origin + ``/login``.

    The frontend and the API usually share the origin (``https://host/login`` and
    ``https://host/api/v3``); where they do not, the CLI takes ``--login-url``.
    """
    parts = urlsplit(api_root(base_url))
    return urlunsplit((parts.scheme, parts.netloc, "/login", "", ""))


def is_expired(expires_at: datetime | None, now: datetime | None = None) -> bool:
    if expires_at is None:
        return False
    moment = now or datetime.now(tz=UTC)
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at <= moment


def login(
    base_url: str,
    username: str,
    password: str,
    *,
    method: LoginMethod = "local",
    timeout: float | None = None,
    session: requests.Session | None = None,
    limits: HttpLimits | None = None,
    on_retry: RetryListener | None = None,
) -> LoginResult:
    """Log in with a password; returns the JWT and when it expires.

    ``method`` ``"local"`` is SciCat's ``auth/login`` (local and functional accounts),
    ``"ldap"`` its ``auth/ldap`` (facility accounts); both answer the same way.
    """
    register_secret(password)
    client = ScicatClient(
        base_url, None, timeout=timeout, session=session, limits=limits, on_retry=on_retry
    )
    kind = "an LDAP login" if method == "ldap" else "a login"
    where = f"{kind} to {client.api_root} as {username}"
    try:
        answer = client.request_json(
            "POST",
            _LOGIN_PATHS[method],
            body={"username": username, "password": password},
            context=where,
        )
    except AuthError as error:
        raise AuthError(
            "SciCat refused the username or password",
            where=where,
            hint=_REFUSED_HINTS[method],
            status=error.status,
            server_message=error.server_message,
        ) from None
    finally:
        client.close()
    fields = answer if isinstance(answer, dict) else {}
    token = fields.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthError(
            "SciCat's login answer holds no access_token",
            where=where,
            hint="check that the URL is a SciCat API (it usually ends in /api/v3)",
        )
    register_secret(token)
    return LoginResult(token=token, expires_at=_expiry_of(fields, token), username=username)


_REFUSED_HINTS: dict[LoginMethod, str] = {
    "local": "check the credentials; this login takes local and functional accounts only "
    "(facility accounts: `scisync login --method ldap` or scicat.login: ldap; others: "
    "`scisync login --browser`)",
    "ldap": "check the credentials; this login takes LDAP (facility) accounts only "
    "(functional accounts: `scisync login --method local`; others: `scisync login --browser`)",
}


def check_token(base_url: str, token: str, *, timeout: float = 30) -> LoginResult:
    """Ask SciCat (``whoami``) whether ``token`` is valid here; the caller stores it.

    SciCat treats an unknown token as anonymous, so whoami is the only way to know.
    """
    token = token.strip()
    if not token:
        raise AuthError(
            "no token was given",
            where="scisync login",
            hint="paste the token from your SciCat user settings page",
        )
    register_secret(token)
    expires = token_expiry(token)
    if expires is not None and is_expired(expires):
        raise expired_error("the pasted token", expires, "SCICAT_TOKEN")
    with ScicatClient(base_url, token, timeout=timeout) as client:
        me = client.verify_token()
    username = me.get("username")
    return LoginResult(
        token=token, expires_at=expires, username=username if isinstance(username, str) else None
    )


def _expiry_of(answer: Mapping[str, object], token: str) -> datetime | None:
    from_token = token_expiry(token)
    if from_token is not None:
        return from_token
    ttl = answer.get("expires_in", answer.get("ttl"))
    if isinstance(ttl, int | float) and not isinstance(ttl, bool) and ttl > 0:
        return datetime.now(tz=UTC) + timedelta(seconds=float(ttl))
    return None


def expired_error(source: str, expires_at: datetime, token_env: str) -> AuthError:
    return AuthError(
        f"your SciCat token expired at {expires_at.isoformat(timespec='seconds')}",
        where=source,
        hint=f"run `scisync login`, or set a fresh token in ${token_env}",
    )


@dataclass(frozen=True)
class ResolvedToken:
    """A token to send, where it came from, and when it expires (None: not known)."""

    token: str
    source: str
    expires_at: datetime | None

    def __repr__(self) -> str:
        return f"ResolvedToken(token=***, source={self.source!r}, expires_at={self.expires_at!r})"


@dataclass(frozen=True)
class ExpiringToken:
    """A token that is still valid but will expire within :data:`EXPIRES_SOON`."""

    source: str
    expires_at: datetime
    token_env: str


def usable_token(
    token: str, source: str, expires_at: datetime | None, token_env: str
) -> ResolvedToken:
    """The one expiry rule for a token about to be used: an expired one is refused here,
    before any request (SciCat would take it for anonymous, or answer 401 part way)."""
    register_secret(token)
    if expires_at is not None and is_expired(expires_at):
        raise expired_error(source, expires_at, token_env)
    return ResolvedToken(token=token, source=source, expires_at=expires_at)


def expiring(resolved: ResolvedToken | None, token_env: str) -> ExpiringToken | None:
    """What to announce before a command uses *resolved*: set when it expires soon."""
    if resolved is None or not expires_soon(resolved.expires_at):
        return None
    assert resolved.expires_at is not None
    return ExpiringToken(resolved.source, resolved.expires_at, token_env)


def resolve_token(
    config: ScicatConfig,
    environ: Mapping[str, str],
    credential_store: CredentialStore,
    *,
    base_url: str | None = None,
) -> str | None:
    """The token to use for ``config`` (see the module docstring for the order)."""
    resolved = resolve_credential(config, environ, credential_store, base_url=base_url)
    return None if resolved is None else resolved.token


def resolve_credential(
    config: ScicatConfig,
    environ: Mapping[str, str],
    credential_store: CredentialStore,
    *,
    base_url: str | None = None,
) -> ResolvedToken | None:
    """:func:`resolve_token`, with where the token came from and when it expires."""
    url = base_url or config.url
    token = environ.get(config.token_env, "").strip()
    if token:
        source = f"${config.token_env}"
        return usable_token(token, source, token_expiry(token), config.token_env)

    if config.username_env and config.password_env:
        username = environ.get(config.username_env, "").strip()
        password = environ.get(config.password_env, "")
        if username and password:
            if url is None:
                raise ConfigError(
                    "cannot log in: no SciCat URL is configured",
                    where="scicat",
                    hint="set scicat.url in the manifest",
                )
            result = login(url, username, password, method=config.login, limits=config.http_limits)
            source = f"the login as ${config.username_env}"
            return usable_token(result.token, source, result.expires_at, config.token_env)
        if username or password:
            missing = config.password_env if username else config.username_env
            raise ConfigError(
                f"${missing} is not set, so scisync cannot log in to SciCat",
                where="scicat",
                hint=f"set both ${config.username_env} and ${config.password_env}, or set "
                f"${config.token_env}",
            )

    if url is None:
        return None
    stored: StoredCredential | None = credential_store.get(url)
    if stored is None:
        return None
    source = f"the token saved by `scisync login` for {url} ({credential_store.path})"
    expires = stored.expires_at or token_expiry(stored.token)
    return usable_token(stored.token, source, expires, config.token_env)


def open_client(
    config: ScicatConfig,
    environ: Mapping[str, str],
    credential_store: CredentialStore | None = None,
    *,
    base_url: str | None = None,
    session: requests.Session | None = None,
    on_retry: RetryListener | None = None,
) -> ScicatClient:
    """A client for ``config`` with the token :func:`resolve_token` finds.

    ``base_url`` overrides ``config.url`` (the embedded sandbox's URL is only known once
    it runs).  The credential store defaults to the user's config folder.
    """
    client, _expiring = open_catalog(
        config, environ, credential_store, base_url=base_url, session=session, on_retry=on_retry
    )
    return client


def open_catalog(
    config: ScicatConfig,
    environ: Mapping[str, str],
    credential_store: CredentialStore | None = None,
    *,
    base_url: str | None = None,
    session: requests.Session | None = None,
    on_retry: RetryListener | None = None,
) -> tuple[ScicatClient, ExpiringToken | None]:
    """:func:`open_client`, and the token's coming expiry when it is within EXPIRES_SOON."""
    url = base_url or config.url
    if url is None:
        raise ConfigError(
            "no SciCat URL is configured", where="scicat", hint="set scicat.url in the manifest"
        )
    store = credential_store or CredentialStore.default(environ)
    resolved = resolve_credential(config, environ, store, base_url=url)
    client = ScicatClient(
        url,
        None if resolved is None else resolved.token,
        session=session,
        token_env=config.token_env,
        limits=config.http_limits,
        on_retry=on_retry,
    )
    return client, expiring(resolved, config.token_env)
