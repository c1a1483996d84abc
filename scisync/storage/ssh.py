"""SSH connections for the SFTP storage: fabric for configuration, strict host keys, a pool.

fabric's Connection resolves ``~/.ssh/config`` (HostName, Port, User, IdentityFile,
ProxyJump) but accepts any host key; :func:`secure` replaces that policy on the host and on
every jump host.  :class:`Pool` keeps up to N sessions (one SSH connection + one SFTP
channel each), opened on demand, reused, and dropped when they stop answering.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
from fabric import Config, Connection

from scisync._util.limits import SshLimits
from scisync.errors import StorageError
from scisync.storage.sftp.stream import MAX_PACKET_SIZE, WINDOW_SIZE, FastSFTPClient

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


# -- connecting ----------------------------------------------------------------------


def make_connection(
    host: str,
    port: int | None,
    user: str | None,
    ssh_config_path: Path | None,
    connect_timeout: float,
) -> Any:
    """A fabric Connection with the ssh config resolved; nothing is connected yet."""
    config = Config(runtime_ssh_path=str(ssh_config_path)) if ssh_config_path else Config()
    return Connection(
        host,
        user=user,
        port=port,
        config=config,
        connect_timeout=max(1, round(connect_timeout)),
        # The banner and the sign-in are bounded by the same limit as the TCP connection,
        # so a peer that accepts and then stalls cannot hold the command longer.
        connect_kwargs={
            "transport_factory": fast_transport,
            "banner_timeout": connect_timeout,
            "auth_timeout": connect_timeout,
        },
    )


def _known_hosts_files(connection: Any, known_hosts: Path | None) -> list[Path]:
    if known_hosts is not None:
        return [known_hosts]
    configured = connection.ssh_config.get("userknownhostsfile")
    names = configured.split() if configured else ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"]
    return [Path(os.path.expanduser(n)) for n in names] + [Path("/etc/ssh/ssh_known_hosts")]


def secure(connection: Any, known_hosts: Path | None, trust_unknown_hosts: bool) -> None:
    """Replace fabric's accept-anything host key policy, on the host and every jump host."""
    while isinstance(connection, Connection):
        client = connection.client
        client.set_missing_host_key_policy(
            TrustUnknown() if trust_unknown_hosts else RefuseUnknown()
        )
        for file in _known_hosts_files(connection, known_hosts):
            if file.is_file():
                client.load_system_host_keys(str(file))
        connection = connection.gateway


def open_session(
    connection: Any, alias: str, where: str, io_timeout: float, limits: SshLimits | None = None
) -> Session:
    """Connect *connection* (made by :func:`make_connection`, then :func:`secure`d) and open
    its SFTP channel; every failure becomes one StorageError naming its cause and the fix.

    *alias* is the host as the user wrote it (for the hints), *where* the storage's address.
    *limits* (default :class:`SshLimits`) gives the keepalive and the stall rule.
    """
    try:
        connection.open()
        transport = connection.client.get_transport()
        rules = limits or SshLimits()
        transport.set_keepalive(rules.keepalive_interval)
        sftp = FastSFTPClient.open_on(transport, rules)
        # A silent peer (network cut) raises socket.timeout instead of hanging forever.
        channel = sftp.get_channel()
        if channel is not None:
            channel.settimeout(io_timeout)
    except (OSError, EOFError, paramiko.SSHException) as exc:
        _close_quietly(connection)
        raise _connect_error(exc, connection, alias, where) from None
    return Session(connection=connection, sftp=sftp)


def _connect_error(exc: BaseException, connection: Any, alias: str, where: str) -> StorageError:
    if isinstance(exc, UnknownHostKey):
        port = connection.port
        keyscan = (
            f"ssh-keyscan -p {port} {connection.host}"
            if port != 22
            else (f"ssh-keyscan {connection.host}")
        )
        return StorageError(
            f"the SSH host key of {exc.hostname} is not known "
            f"({exc.key_type} {exc.fingerprint}); refusing to connect",
            where=where,
            hint=(
                "check the fingerprint with the server's administrators, then trust it: "
                f"run `ssh {alias}` once and accept it, or `{keyscan} >> "
                "~/.ssh/known_hosts` (or the manifest's storage.sftp.known_hosts file)"
            ),
        )
    if isinstance(exc, paramiko.BadHostKeyException):
        return StorageError(
            f"the SSH host key of {exc.hostname} does not match known_hosts: the server "
            "was reinstalled, or someone is intercepting the connection",
            where=where,
            hint=f"ask the server's administrators; if the key really changed, run "
            f"`ssh-keygen -R {exc.hostname}` and connect again",
        )
    if isinstance(exc, paramiko.AuthenticationException):
        return StorageError(
            f"SSH authentication failed for user {connection.user!r}: {exc}",
            where=where,
            hint="load your key into ssh-agent or set IdentityFile in ~/.ssh/config; "
            f"check with `ssh {alias}`",
        )
    detail = str(exc) or type(exc).__name__
    # paramiko's words for a peer that stalls or is no SSH server, said plainly.
    if detail == "No existing session":
        detail = "the server did not complete the SSH handshake within the connect timeout"
    elif detail.startswith("Error reading SSH protocol banner"):
        detail = "no valid SSH banner arrived within the connect timeout (is it an SSH server?)"
    return StorageError(
        f"cannot open an SFTP session to {connection.host}:{connection.port}: {detail}",
        where=where,
        hint=f"check the host name, port and network; try `sftp {alias}`",
    )


def _close_quietly(connection: Any) -> None:
    with suppress(Exception):
        connection.close()
