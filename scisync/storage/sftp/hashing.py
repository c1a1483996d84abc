"""Checksums of files on the server: ``sha256sum``/``b3sum``/... run there in batches when
the server allows commands, else the bytes are streamed here and hashed."""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Iterator, Sequence
from contextlib import suppress
from typing import Any, TypeVar

from scisync._util.hashing import StreamingHasher
from scisync.errors import StorageError
from scisync.storage._transfer import run_each
from scisync.storage.base import RemotePath
from scisync.storage.sftp.server import Server
from scisync.storage.ssh import TRANSFER_ERRORS, Session

_CHECKSUM_TOOLS = {
    "sha256": "sha256sum",
    "blake3": "b3sum",
    "blake2b": "b2sum",
    "md5": "md5sum",
    "sha1": "sha1sum",
}
_DIGEST_LENGTHS = {"sha256": 64, "blake3": 64, "blake2b": 128, "md5": 32, "sha1": 40}
_SHELL_PROBE = "echo scisync-shell-ok"
_MAX_COMMAND_CHARS = 32_000  # well below every server's ARG_MAX
_MAX_EXEC_OUTPUT = 16 * 2**20
_EXEC_TIMEOUT = 3600.0  # hashing a very large file on a slow server may take this long

T = TypeVar("T")


def _batches(items: Sequence[str], max_chars: int) -> Iterator[list[str]]:
    """Consecutive groups whose quoted lengths add up to at most *max_chars*."""
    batch: list[str] = []
    used = 0
    for item in items:
        cost = len(shlex.quote(item)) + 1
        if batch and used + cost > max_chars:
            yield batch
            batch, used = [], 0
        batch.append(item)
        used += cost
    if batch:
        yield batch


def split(items: list[T], parts: int) -> list[list[T]]:
    """*items* in up to *parts* interleaved groups (one per connection)."""
    count = max(1, min(parts, len(items)))
    return [group for group in (items[i::count] for i in range(count)) if group]


def _feed(channel: Any, data: bytes) -> None:
    """Write *data* to a command's stdin, then close it (errors show as its output)."""
    with suppress(*TRANSFER_ERRORS):
        channel.sendall(data)
        channel.shutdown_write()


def _digest(line: str, name: str) -> str | None:
    """The digest at the start of one line of ``sha256sum``-style output, if well formed."""
    digest = line.split(maxsplit=1)[0].lstrip("\\").lower() if line else ""
    if len(digest) == _DIGEST_LENGTHS[name] and all(c in "0123456789abcdef" for c in digest):
        return digest
    return None


class RemoteHashing:
    """Hashes files on *server*, remembering whether it runs commands and which tools it has."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._facts_lock = threading.Lock()
        self._has_shell: bool | None = None
        self._missing_tools: set[str] = set()

    @property
    def has_shell(self) -> bool | None:
        with self._facts_lock:
            return self._has_shell

    def learned_shell(self, has_shell: bool) -> None:
        with self._facts_lock:
            self._has_shell = has_shell

    def checksum(self, session: Session, path: RemotePath, name: str) -> str | None:
        return self.checksums(session, [str(path)], name).get(str(path))

    def checksums(self, session: Session, paths: Sequence[str], name: str) -> dict[str, str]:
        """Digests of many files with one command per batch (starting a command is slow).

        Files the server could not hash are missing from the result.
        """
        tool = _CHECKSUM_TOOLS[name]
        found: dict[str, str] = {}
        for batch in _batches(paths, _MAX_COMMAND_CHARS):
            with self._facts_lock:
                if self._has_shell is False or tool in self._missing_tools:
                    return found
                probe = self._has_shell is None
            command = f"{tool} -- " + " ".join(shlex.quote(p) for p in batch)
            if probe:
                # Learn whether commands run at all in the same round trip (exec is slow).
                command = f"{_SHELL_PROBE}; {command}"
            status, out = self._exec(session, command)
            if probe:
                marker, _, out = out.partition("\n")
                has_shell = marker == "scisync-shell-ok"
                with self._facts_lock:
                    self._has_shell = has_shell
                if not has_shell:
                    return found
            if status == 127:
                with self._facts_lock:
                    self._missing_tools.add(tool)
                return found
            lines = out.splitlines()
            if len(lines) != len(batch):
                continue  # some file failed (vanished?): trust none of this batch's lines
            for path, line in zip(batch, lines, strict=True):
                digest = _digest(line, name)
                if digest is not None:
                    found[path] = digest
        return found

    def checksums_of_many(
        self, session: Session, paths: Sequence[str], name: str
    ) -> dict[str, str]:
        """Like :meth:`checksums`, but the names go to ``xargs -0`` on stdin: one command
        for any number of files (each command start costs a shell on the server, which
        measured 0.1-0.7 s here).  Falls back to :meth:`checksums` when xargs is missing
        or any file could not be hashed (so the others are still checked)."""
        tool = _CHECKSUM_TOOLS[name]
        with self._facts_lock:
            if self._has_shell is False or tool in self._missing_tools:
                return {}
            probe = self._has_shell is None
        if len(paths) <= 1:
            return self.checksums(session, paths, name)
        listing = b"".join(os.fsencode(p) + b"\0" for p in paths)
        command = f"xargs -0 {tool} --"
        if probe:
            # Learn whether commands run in the same round trip.  Under ForceCommand
            # internal-sftp the names reach an SFTP server instead, which refuses them.
            command = f"{_SHELL_PROBE}; {command}"
        status, out = self._exec(session, command, listing)
        if probe:
            marker, _, out = out.partition("\n")
            with self._facts_lock:
                self._has_shell = marker == "scisync-shell-ok"
            if marker != "scisync-shell-ok":
                return {}
        lines = out.splitlines()
        if status != 0 or len(lines) != len(paths):
            return self.checksums(session, paths, name)
        found: dict[str, str] = {}
        for path, line in zip(paths, lines, strict=True):
            digest = _digest(line, name)
            if digest is not None:
                found[path] = digest
        return found

    def _exec(self, session: Session, command: str, stdin: bytes = b"") -> tuple[int, str]:
        """Run *command* over an exec channel; (-1, "") if the server will not run it.

        Under ``ForceCommand internal-sftp`` the command is replaced by an SFTP server
        waiting on stdin, so stdin is closed at once and the probe's echo never appears.
        *stdin* is fed from another thread, so a command that answers while it still
        reads (xargs) never waits on us.
        """
        try:
            channel = session.transport.open_session(timeout=self.server.connect_timeout)
        except TRANSFER_ERRORS:
            return -1, ""
        feeder: threading.Thread | None = None
        try:
            channel.settimeout(_EXEC_TIMEOUT)
            channel.exec_command(command)
            if stdin:
                feeder = threading.Thread(
                    target=_feed, args=(channel, stdin), name="scisync-stdin", daemon=True
                )
                feeder.start()
            else:
                channel.shutdown_write()
            chunks: list[bytes] = []
            received = 0
            while data := channel.recv(65536):
                chunks.append(data)
                received += len(data)
                if received > _MAX_EXEC_OUTPUT:
                    return -1, ""
            status = channel.recv_exit_status()
            return status, b"".join(chunks).decode("utf-8", "replace")
        except TRANSFER_ERRORS:
            return -1, ""
        finally:
            channel.close()
            if feeder is not None:
                feeder.join()

    def blake3(self, paths: Sequence[tuple[RemotePath, int]]) -> dict[str, str]:
        """blake3 of remote files: b3sum on the server if possible, else streamed here."""
        pool = self.server.pool
        workers = self.server.connections
        groups = split(list(paths), workers)

        def by_shell(
            group: list[tuple[RemotePath, int]], _abort: threading.Event
        ) -> dict[str, str]:
            with pool.lease() as session:
                return self.checksums(session, [str(p) for p, _ in group], "blake3")

        found: dict[str, str] = {}
        for outcome in run_each(by_shell, groups, workers):
            if isinstance(outcome, StorageError):
                raise outcome
            found.update(outcome)
        rest = [(p, size) for p, size in paths if str(p) not in found]

        def by_stream(item: tuple[RemotePath, int], abort: threading.Event) -> tuple[str, str]:
            path, size = item
            hasher = StreamingHasher(["blake3"], size_hint=size)
            with pool.lease() as session:
                try:
                    with session.sftp.open(str(path), "rb") as remote:
                        session.sftp.read_pipelined(remote.handle, size, hasher.update, abort)
                except TRANSFER_ERRORS as exc:
                    raise self.server.error(exc, "read", path) from exc
            return str(path), hasher.hexdigests()["blake3"]

        for streamed in run_each(by_stream, rest, workers):
            if isinstance(streamed, StorageError):
                raise streamed
            found[streamed[0]] = streamed[1]
        return found


class StreamedChecksums:
    """Checksums of files named one at a time while others are still being written.

    One command on the server (``xargs -0 b3sum``) hashes the files as their names arrive
    on its stdin, so its start-up cost (a shell: 0.1-0.7 s measured here) overlaps the
    transfer instead of following it.  :meth:`finish` returns the digests it got; files
    missing from it (no shell, no tool, a file that could not be hashed: then all of them)
    are for the caller to check the ordinary way.
    """

    def __init__(self, hashing: RemoteHashing, session: Session, name: str) -> None:
        self._lock = threading.Lock()
        self._paths: list[str] = []
        self._pending = bytearray()
        self._chunks: list[bytes] = []
        self._tool = _CHECKSUM_TOOLS[name]
        self._name = name
        self._hashing = hashing
        self._channel: Any = None
        self._reader: threading.Thread | None = None
        try:
            channel = session.transport.open_session(timeout=hashing.server.connect_timeout)
            channel.settimeout(_EXEC_TIMEOUT)
            channel.exec_command(f"{_SHELL_PROBE}; exec xargs -0 {self._tool} --")
        except TRANSFER_ERRORS:
            return
        self._channel = channel
        self._reader = threading.Thread(
            target=self._read, args=(channel,), name="scisync-b3sum", daemon=True
        )
        self._reader.start()

    def add(self, path: str) -> None:
        with self._lock:
            if self._channel is None:
                return
            self._paths.append(path)
            self._pending += os.fsencode(path) + b"\0"
            if len(self._pending) < 32_768:
                return
            data = bytes(self._pending)
            self._pending.clear()
            self._send(data)

    def _send(self, data: bytes) -> None:
        try:
            self._channel.sendall(data)
        except TRANSFER_ERRORS:
            self._channel.close()  # no shell (the names met an SFTP server) or gone
            self._channel = None

    def _read(self, channel: Any) -> None:
        received = 0
        with suppress(*TRANSFER_ERRORS):
            while data := channel.recv(65536):
                self._chunks.append(data)
                received += len(data)
                with self._lock:
                    limit = _MAX_EXEC_OUTPUT + 4200 * len(self._paths)
                if received > limit:
                    self._chunks.clear()
                    return

    def finish(self) -> dict[str, str]:
        """Close stdin, wait for the command, and pair its lines with the names sent."""
        with self._lock:
            channel, self._channel = self._channel, None
            if channel is not None and self._pending:
                self._channel = channel
                self._send(bytes(self._pending))
                channel, self._channel = self._channel, None
        if channel is None or self._reader is None:
            return {}
        try:
            channel.shutdown_write()
            self._reader.join()
            status = channel.recv_exit_status()
        except TRANSFER_ERRORS:
            return {}
        finally:
            channel.close()
        marker, _, out = b"".join(self._chunks).decode("utf-8", "replace").partition("\n")
        self._hashing.learned_shell(marker == "scisync-shell-ok")
        lines = out.splitlines()
        if marker != "scisync-shell-ok" or status != 0 or len(lines) != len(self._paths):
            return {}
        found: dict[str, str] = {}
        for path, line in zip(self._paths, lines, strict=True):
            digest = _digest(line, self._name)
            if digest is not None:
                found[path] = digest
        return found
