"""Accounts, login and tokens: who is calling.

Accounts come from a functional-accounts file in the backend's own format
(``[{username, email, password, role, global}]``).  Each role becomes a group, and
``global: true`` adds ``globalaccess``, as in the backend.  Groups are looked up on every
request (the backend recomputes ``currentGroups`` per request too), so the token only
names the user.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt  # PyJWT

from scisync.sandbox.quirks import now_iso
from scisync.sandbox.settings import SandboxSettings

SECRET_FILE = "jwt_secret"
_ALGORITHM = "HS256"  # the backend signs with JWT_SECRET, HMAC-SHA256

# The demo accounts written when the data folder has no accounts file.  DEMO ONLY: the
# passwords are public (they are in this source file); never expose a sandbox beyond
# 127.0.0.1 with them.
DEFAULT_ACCOUNTS: tuple[dict[str, Any], ...] = (
    {
        "username": "admin",
        "email": "admin@sandbox.invalid",
        "password": "sandbox-admin",
        "role": "admin",
        "global": False,
    },
    {
        "username": "ingestor",
        "email": "ingestor@sandbox.invalid",
        "password": "sandbox-ingestor",
        "role": "ingestor",
        "global": False,
    },
    {
        "username": "user1",
        "email": "user1@sandbox.invalid",
        "password": "sandbox-user1",
        "role": "group1",
        "global": False,
    },
    {
        # A facility (LDAP) account: it logs in at auth/ldap only (a sandbox extension
        # of the file format; the backend asks an LDAP server instead).
        "username": "ldap1",
        "email": "ldap1@sandbox.invalid",
        "password": "sandbox-ldap1",
        "role": "group1",
        "global": False,
        "authStrategy": "ldap",
    },
)
AUTH_STRATEGIES = ("local", "ldap")


@dataclass(frozen=True)
class Account:
    """One functional account."""

    username: str
    email: str
    password: str
    groups: tuple[str, ...]
    strategy: str = "local"  # "local" (auth/login) or "ldap" (auth/ldap)

    @property
    def user_id(self) -> str:
        # Stable across restarts, like a database id would be.
        return f"sandbox-user-{self.username}"

    def public_record(self) -> dict[str, Any]:
        """The user document minus the password, as login and tokens carry it."""
        return {
            "_id": self.user_id,
            "id": self.user_id,
            "username": self.username,
            "email": self.email,
            "authStrategy": self.strategy,
        }


@dataclass(frozen=True)
class Caller:
    """Who is making a request; ``account`` is None for anonymous callers."""

    account: Account | None
    groups: tuple[str, ...]

    @property
    def username(self) -> str:
        return self.account.username if self.account else "anonymous"

    @property
    def email(self) -> str | None:
        return self.account.email if self.account else None


ANONYMOUS = Caller(account=None, groups=())


class SessionExpired(Exception):
    """The token was valid but has expired (backend >= v5.2.0 answers 401)."""


def parse_accounts(raw: Any, static_groups: tuple[str, ...]) -> dict[str, Account]:
    """Turn the functional-accounts JSON into accounts by username."""
    if not isinstance(raw, list):
        raise ValueError("the functional accounts file must hold a JSON list")
    accounts: dict[str, Account] = {}
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("username"), str):
            raise ValueError(f"functional account without a username: {entry!r}")
        role = entry.get("role", [])
        roles = [role] if isinstance(role, str) else [str(r) for r in role]
        groups = list(roles)
        if entry.get("global"):
            groups.append("globalaccess")
        groups.extend(g for g in static_groups if g not in groups)
        strategy = entry.get("authStrategy", "local")
        if strategy not in AUTH_STRATEGIES:
            raise ValueError(
                f"account {entry['username']!r}: authStrategy must be one of "
                f"{', '.join(AUTH_STRATEGIES)}, not {strategy!r}"
            )
        accounts[entry["username"]] = Account(
            username=entry["username"],
            email=str(entry.get("email", "")),
            password=str(entry.get("password", "")),
            groups=tuple(groups),
            strategy=strategy,
        )
    return accounts


def load_accounts(data_dir: Path, settings: SandboxSettings) -> dict[str, Account]:
    """Read the accounts file, writing the documented demo accounts when there is none."""
    path = data_dir / settings.functional_accounts_file
    if not path.exists():
        _write_private(path, json.dumps(list(DEFAULT_ACCOUNTS), indent=2) + "\n")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return parse_accounts(raw, settings.access_groups_static_values)


def load_secret(data_dir: Path) -> bytes:
    """The JWT signing secret; generated on first start and kept (mode 0600)."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        _write_private(path, secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip().encode("ascii")


def _write_private(path: Path, text: str) -> None:
    # Create with 0600 from the start so the secret is never world-readable, even briefly.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


class Authenticator:
    """Logs accounts in and maps an ``Authorization`` header to a :class:`Caller`."""

    def __init__(
        self, accounts: dict[str, Account], secret: bytes, settings: SandboxSettings
    ) -> None:
        self._accounts = accounts
        self._secret = secret
        self._settings = settings

    @property
    def accounts(self) -> dict[str, Account]:
        return dict(self._accounts)

    def check_password(
        self, username: object, password: object, strategy: str = "local"
    ) -> Account | None:
        """The account, if the password is right and it logs in with ``strategy``."""
        if not isinstance(username, str) or not isinstance(password, str):
            return None
        account = self._accounts.get(username)
        if account is None or account.strategy != strategy:
            return None
        if not hmac.compare_digest(account.password.encode(), password.encode()):
            return None
        return account

    def issue(self, account: Account, expires_in: int | None = None) -> str:
        now = int(time.time())
        ttl = self._settings.jwt_expires_in if expires_in is None else expires_in
        payload = {**account.public_record(), "iat": now, "exp": now + ttl}
        return jwt.encode(payload, self._secret, algorithm=_ALGORITHM)

    def login_response(self, account: Account) -> dict[str, Any]:
        """The body of a successful ``POST auth/login`` (201)."""
        token = self.issue(account)
        ttl = self._settings.jwt_expires_in
        return {
            "access_token": token,
            "id": token,
            "expires_in": ttl,
            "ttl": ttl,
            "created": now_iso(),
            "userId": account.user_id,
            "user": account.public_record(),
        }

    def caller_for(self, authorization: str | None) -> Caller:
        """Resolve a header value; invalid or missing tokens mean anonymous, like the backend."""
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ANONYMOUS
        try:
            # Only HS256 (never "none" or an algorithm the token names), with an expiry.
            payload = jwt.decode(
                token.strip(), self._secret, algorithms=[_ALGORITHM], options={"require": ["exp"]}
            )
        except jwt.ExpiredSignatureError:
            raise SessionExpired() from None
        except jwt.InvalidTokenError:
            return ANONYMOUS
        account = self._accounts.get(str(payload.get("username")))
        if account is None:
            return ANONYMOUS
        return Caller(account=account, groups=account.groups)
