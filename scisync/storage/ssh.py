"""SSH connections for the SFTP storage: fabric for configuration, strict host keys, a pool.

fabric's Connection resolves ``~/.ssh/config`` (HostName, Port, User, IdentityFile,
ProxyJump) but accepts any host key; :func:`secure` replaces that policy on the host and on
every jump host.  :class:`Pool` keeps up to N sessions (one SSH connection + one SFTP
channel each), opened on demand, reused, and dropped when they stop answering.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import paramiko
from fabric import Connection

from scisync.errors import StorageError
from scisync.storage.sftp_stream import MAX_PACKET_SIZE, WINDOW_SIZE, FastSFTPClient

FAST_CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
)
"""Preferred first: AEAD ciphers need one call per packet instead of cipher + HMAC."""

TRANSFER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    paramiko.SSHException,
    socket.timeout,
)
"""What paramiko raises when a request fails or the connection breaks."""


def fast_transport(sock: Any, **kwargs: Any) -> paramiko.Transport:
    """Transport factory for SSHClient.connect: big window and packets, fast ciphers first."""
    transport = paramiko.Transport(
        sock,
        disabled_algorithms=kwargs.get("disabled_algorithms"),
        default_window_size=WINDOW_SIZE,
        default_max_packet_size=MAX_PACKET_SIZE,
    )
    options = transport.get_security_options()
    available = tuple(options.ciphers)
    preferred = tuple(c for c in FAST_CIPHERS if c in available)
    options.ciphers = preferred + tuple(c for c in available if c not in preferred)
    return transport


class UnknownHostKey(paramiko.SSHException):
    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        self.hostname = hostname
        self.key_type = key.get_name()
        self.fingerprint = key.fingerprint
        super().__init__(f"unknown host key for {hostname}")


class RefuseUnknown(paramiko.MissingHostKeyPolicy):
    """Like paramiko's RejectPolicy, but keeps the key's fingerprint for the message."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        transport = client.get_transport()
        if transport is not None:
            transport.close()
        raise UnknownHostKey(hostname, key)


class TrustUnknown(paramiko.MissingHostKeyPolicy):
    """Accept an unknown key for this process only; known_hosts is never written."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)


@dataclass
class Session:
    """One SSH connection and its SFTP channel; used by one thread at a time."""

    connection: Any  # fabric.Connection (untyped)
    sftp: FastSFTPClient

    @property
    def transport(self) -> paramiko.Transport:
        transport = self.connection.client.get_transport()
        if transport is None:
            raise StorageError("the SSH connection is closed", hint="re-run to reconnect")
        return transport  # type: ignore[no-any-return]

    def alive(self) -> bool:
        transport = self.connection.client.get_transport()
        return transport is not None and bool(transport.is_active())

    def close(self) -> None:
        with suppress(Exception):
            self.sftp.close()
        gateway = self.connection.gateway
        with suppress(Exception):
            self.connection.close()
        while isinstance(gateway, Connection):
            with suppress(Exception):
                gateway.close()
            gateway = gateway.gateway


class Pool:
    """Up to *size* sessions, created on demand and reused; broken ones are dropped."""

    def __init__(self, size: int, factory: Callable[[], Session]) -> None:
        self._size = max(1, size)
        self._factory = factory
        self._idle: list[Session] = []
        self._count = 0
        self._cond = threading.Condition()
        self._closed = False

    @contextmanager
    def lease(self) -> Iterator[Session]:
        with self._lease(wait=True) as session:
            assert session is not None
            yield session

    @contextmanager
    def lease_if_free(self) -> Iterator[Session | None]:
        """A session if one is idle or may still be opened, else None (never waits)."""
        with self._lease(wait=False) as session:
            yield session

    @contextmanager
    def _lease(self, wait: bool) -> Iterator[Session | None]:
        with self._cond:
            if not wait and not self._idle and self._count >= self._size:
                session = None
                busy = True
            else:
                busy = False
                while not self._idle and self._count >= self._size:
                    self._cond.wait()
                session = self._idle.pop() if self._idle else None
                if session is None:
                    self._count += 1
        if busy:
            yield None
            return
        if session is None:
            try:
                session = self._factory()
            except BaseException:
                with self._cond:
                    self._count -= 1
                    self._cond.notify()
                raise
        assert session is not None
        healthy = True
        try:
            yield session
        except BaseException:
            # paramiko notices a dead peer late; one cheap round trip tells for sure.
            healthy = responds(session)
            raise
        finally:
            keep = healthy and session.alive() and not self._closed
            with self._cond:
                if keep:
                    self._idle.append(session)
                else:
                    self._count -= 1
                self._cond.notify()
            if not keep:
                session.close()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for session in idle:
            session.close()


def responds(session: Session) -> bool:
    """True if the session still answers a request (used only after a failure)."""
    if not session.alive():
        return False
    try:
        session.sftp.normalize(".")
    except Exception:
        return False
    return True


def is_missing(exc: BaseException) -> bool:
    return isinstance(exc, FileNotFoundError) or (
        isinstance(exc, OSError) and exc.errno == errno.ENOENT
    )
