"""The credential store: SciCat tokens saved by ``scisync login``.

A JSON file in the user's config folder (``$XDG_CONFIG_HOME/scisync/credentials.json``,
else ``~/.config/scisync/credentials.json``), keyed by the SciCat API root.  It is
written atomically (temp file + ``os.replace``) with mode 0600, and scisync refuses to
read it when group or others may access it: a token there is as good as a password.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scisync._util.secrets import register_secret
from scisync.errors import ConfigError
from scisync.scicat.http import api_root

FILE_VERSION = 1
_PRIVATE = 0o600


@dataclass(frozen=True)
class StoredCredential:
    token: str
    expires_at: datetime | None = None
    username: str | None = None

    def __repr__(self) -> str:
        return (
            f"StoredCredential(token=***, expires_at={self.expires_at!r}, "
            f"username={self.username!r})"
        )


def default_credentials_path(environ: Mapping[str, str]) -> Path:
    config_home = environ.get("XDG_CONFIG_HOME", "").strip()
    base = (
        Path(config_home) if config_home else Path(environ.get("HOME") or Path.home()) / ".config"
    )
    return base / "scisync" / "credentials.json"


class CredentialStore:
    """Tokens by SciCat API root, in one private JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls, environ: Mapping[str, str]) -> CredentialStore:
        return cls(default_credentials_path(environ))

    def __repr__(self) -> str:
        return f"CredentialStore({str(self.path)!r})"

    def get(self, base_url: str) -> StoredCredential | None:
        """The credential saved for this SciCat (any of its /api, /api/v3, /api/v4 URLs)."""
        entry = self._read().get(api_root(base_url))
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            return None
        token = str(entry["token"])
        register_secret(token)
        expires = entry.get("expires_at")
        username = entry.get("username")
        return StoredCredential(
            token=token,
            expires_at=_parse_time(expires) if isinstance(expires, str) else None,
            username=username if isinstance(username, str) else None,
        )

    def put(self, base_url: str, credential: StoredCredential) -> None:
        """Save (or replace) the credential for this SciCat, atomically, mode 0600."""
        register_secret(credential.token)
        entries = self._read()
        entries[api_root(base_url)] = {
            "token": credential.token,
            "expires_at": credential.expires_at.isoformat() if credential.expires_at else None,
            "username": credential.username,
        }
        self._write(entries)

    def remove(self, base_url: str) -> bool:
        entries = self._read()
        if entries.pop(api_root(base_url), None) is None:
            return False
        self._write(entries)
        return True

    def _read(self) -> dict[str, object]:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise ConfigError(
                f"cannot read the credential store: {error.strerror}", where=str(self.path)
            ) from None
        if info.st_mode & 0o077:
            raise ConfigError(
                f"refusing to read the credential store: its permissions "
                f"({stat.filemode(info.st_mode)}) let other users read or change it",
                where=str(self.path),
                hint=f"run `chmod 600 {self.path}` (and consider the token leaked: "
                "run `scisync login` again)",
            )
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(
                f"the credential store is unreadable ({type(error).__name__})",
                where=str(self.path),
                hint="delete the file and run `scisync login` again",
            ) from None
        credentials = document.get("credentials") if isinstance(document, dict) else None
        if not isinstance(credentials, dict):
            raise ConfigError(
                "the credential store has no 'credentials' object",
                where=str(self.path),
                hint="delete the file and run `scisync login` again",
            )
        return dict(credentials)

    def _write(self, entries: Mapping[str, object]) -> None:
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(
            {"version": FILE_VERSION, "credentials": dict(sorted(entries.items()))}, indent=2
        )
        # mkstemp creates the file 0600 before any byte of the token is written.
        handle, temp_name = tempfile.mkstemp(prefix=".credentials-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text + "\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp_name, _PRIVATE)
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
