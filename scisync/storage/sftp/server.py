"""What every SFTP operation shares: the connection settings, the session pool, and how a
failure is named (``sftp://user@host/path``) and cleaned up after."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from scisync._util.limits import SshLimits
from scisync.errors import StorageError
from scisync.storage.base import RemotePath
from scisync.storage.sftp.stall import TransferStalled
from scisync.storage.ssh import (
    TRANSFER_ERRORS,
    Pool,
    Session,
    is_missing,
    make_connection,
    open_session,
    responds,
    secure,
)


class Server:
    """One SFTP server as configured: up to *connections* pooled sessions to it."""

    def __init__(
        self,
        host: str,
        port: int | None,
        user: str | None,
        *,
        connections: int,
        ssh_config_path: Path | None,
        known_hosts: Path | None,
        trust_unknown_hosts: bool,
        connect_timeout: float,
        io_timeout: float,
        limits: SshLimits,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.connections = max(1, connections)
        self.ssh_config_path = ssh_config_path
        self.known_hosts = known_hosts
        self.trust_unknown_hosts = trust_unknown_hosts
        self.connect_timeout = connect_timeout
        self.io_timeout = io_timeout
        self.limits = limits  # keepalive and the stall rule (connect/io timeouts: above)
        self.pool = Pool(self.connections, self.connect)
        try:
            self._resolved = self._make_connection()  # resolves ssh config; not connected
        except Exception as exc:
            raise StorageError(
                f"cannot read the SSH configuration: {exc}",
                where=str(ssh_config_path or "~/.ssh/config"),
                hint="fix the ssh config file (check it with `ssh -G HOST`)",
            ) from exc

    def _make_connection(self) -> Any:
        return make_connection(
            self.host, self.port, self.user, self.ssh_config_path, self.connect_timeout
        )

    def describe(self) -> str:
        user = self._resolved.user
        port = self._resolved.port
        suffix = f":{port}" if port and port != 22 else ""
        return f"sftp://{user}@{self.host}{suffix}" if user else f"sftp://{self.host}{suffix}"

    def connect(self) -> Session:
        """A new session (the pool calls this; cleanup uses it when a session died)."""
        connection = self._make_connection()
        secure(connection, self.known_hosts, self.trust_unknown_hosts)
        return open_session(connection, self.host, self.describe(), self.io_timeout, self.limits)

    def close(self) -> None:
        self.pool.close()

    # -- messages --------------------------------------------------------------------

    def where(self, path: RemotePath | str) -> str:
        return f"{self.describe()}{path}"

    def missing(self, path: RemotePath | str) -> StorageError:
        """*path* is not on the server (raise it ``from None``: the OSError adds nothing)."""
        return StorageError(
            "file not found on the server",
            where=self.where(path),
            hint="the dataset's files may have been moved or deleted",
        )

    def error(self, exc: BaseException, action: str, path: RemotePath | str) -> StorageError:
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, TransferStalled):
            return StorageError(
                f"cannot {action}: {exc}",
                where=self.where(path),
                hint="the server or the network to it is overloaded or stuck; re-run to "
                "resume (finished files are kept, no partial file is left); if it stalls "
                "again, compare with `sftp` from this machine and tell the server's admins",
            )
        if isinstance(exc, PermissionError) or (
            isinstance(exc, OSError) and exc.errno == errno.EACCES
        ):
            return StorageError(
                f"cannot {action}: permission denied",
                where=self.where(path),
                hint="check that your user may write there (ask the server's administrators)",
            )
        detail = str(exc) or type(exc).__name__
        return StorageError(
            f"cannot {action}: {detail}",
            where=self.where(path),
            hint="re-run to retry; finished files are kept and no partial file is left",
        )

    # -- cleanup ---------------------------------------------------------------------

    def remove_paths(self, paths: Sequence[str]) -> None:
        """Best-effort removal of temporaries, on a pooled or else a fresh connection."""
        try:
            with self.pool.lease() as session:
                for path in paths:
                    self.remove_quietly(session, path)
        except Exception:
            for path in paths:
                self._remove_on_fresh_session(path)

    def remove_quietly(self, session: Session, path: str) -> None:
        """Best effort: on a dead connection, use a fresh one so no temp file remains."""
        try:
            session.sftp.remove(path)
            return
        except TRANSFER_ERRORS as exc:
            if is_missing(exc) or responds(session):
                return
        self._remove_on_fresh_session(path)

    def _remove_on_fresh_session(self, path: str) -> None:
        with suppress(Exception):
            fresh = self.connect()
            try:
                fresh.sftp.remove(path)
            finally:
                fresh.close()
