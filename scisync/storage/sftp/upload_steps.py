"""The pipelined steps of an upload, one generator per file (see :mod:`.pipeline`).

Each does what the one-request-at-a-time code did, in the same order on the server: probe
the target; create the temporary exclusively, write it, check its size and close it; rename
it into place without overwriting.  A file's failure is raised as a StorageError naming it,
after its temporary was removed.
"""

from __future__ import annotations

import os
import stat as stat_mod
import threading
from collections.abc import Callable, Sequence
from typing import BinaryIO

import paramiko
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_EXTENDED,
    CMD_FSTAT,
    CMD_LSTAT,
    CMD_OPEN,
    CMD_REMOVE,
    CMD_RENAME,
    CMD_WRITE,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
    int64,
)

from scisync._util.hashing import StreamingHasher
from scisync.errors import StorageError
from scisync.storage.base import ProgressCallback, RemotePath, UploadJob
from scisync.storage.sftp.pipeline import MAX_BYTES, Reply, Request, Steps
from scisync.storage.sftp.server import Server
from scisync.storage.sftp.stream import WRITE_REQUEST_SIZE
from scisync.storage.ssh import TRANSFER_ERRORS, is_missing

CREATE_EXCLUSIVE = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_TRUNC | SFTP_FLAG_EXCL
"""What paramiko sends for mode ``"wbx"``: the temporary is never an existing file."""

WRITES_PER_BATCH = max(1, MAX_BYTES // (2 * WRITE_REQUEST_SIZE))
"""Write requests a file sends before it waits for their replies (bounds its memory)."""


def differs(server: Server, path: RemotePath) -> StorageError:
    return StorageError(
        "a different file already exists on the server",
        where=server.where(path),
        hint="scisync never overwrites a file that differs; move it away and re-run",
    )


def same_size(server: Server, attrs: paramiko.SFTPAttributes, job: UploadJob) -> bool:
    """True if *attrs* is a regular file of the job's size; a conflict raises."""
    if not stat_mod.S_ISREG(attrs.st_mode or 0):
        raise StorageError(
            "something other than a regular file is in the way",
            where=server.where(job.remote),
            hint="move it away on the server and re-run",
        )
    if attrs.st_size != job.size:
        raise differs(server, job.remote)
    return True


def probe(server: Server, job: UploadJob) -> Steps[bool]:
    """False if nothing is at the target, True if a file of the same size is; else raise."""
    (reply,) = yield [Request(CMD_LSTAT, (str(job.remote),))]
    try:
        attrs = reply.attrs()
    except TRANSFER_ERRORS as exc:
        if is_missing(exc):
            return False
        raise server.error(exc, "prepare upload to", job.remote) from exc
    return same_size(server, attrs, job)


class Sender:
    """Writes files to their temporaries; *live* tracks every temporary that may exist."""

    def __init__(
        self,
        server: Server,
        progress: ProgressCallback | None,
        live: dict[UploadJob, str],
        lock: threading.Lock,
        on_sent: Callable[[str], None] | None = None,
    ) -> None:
        self.server = server
        self.progress = progress
        self.live = live
        self.lock = lock
        self.on_sent = on_sent  # told each temporary's name once it is written and closed

    def send(self, job: UploadJob, tmp: str) -> Steps[None]:
        """Create *tmp* exclusively, write the file, check the size stored, close it."""
        try:
            with job.local.open("rb") as source:
                with self.lock:
                    self.live[job] = tmp
                (opened,) = yield [Request(CMD_OPEN, (tmp, CREATE_EXCLUSIVE, _no_attrs()))]
                handle = opened.handle()
                try:
                    sent, written = yield from self._write(job, source, handle)
                except Exception:
                    yield [Request(CMD_CLOSE, (handle,))]
                    raise
                local_size = os.fstat(source.fileno()).st_size
        except TRANSFER_ERRORS as exc:
            yield from self._forget(job, tmp)
            raise self.server.error(exc, "upload", job.remote) from exc
        except StorageError:
            yield from self._forget(job, tmp)
            raise
        if local_size != sent or sent != job.size or written != sent:
            yield from self._forget(job, tmp)
            if written != sent:
                raise StorageError(
                    f"the server stored {written} bytes of {sent}",
                    where=self.server.where(job.remote),
                    hint="the server's disk may be full or a quota reached; re-run to retry",
                )
            raise _changed(job)
        if self.on_sent is not None:
            self.on_sent(tmp)

    def _write(self, job: UploadJob, source: BinaryIO, handle: bytes) -> Steps[tuple[int, int]]:
        """Send the bytes in batches; the last batch also asks the size and closes."""
        hasher = StreamingHasher(["blake3"], size_hint=job.size)
        sent = 0
        while True:
            batch: list[Request] = []
            last = False
            while len(batch) < WRITES_PER_BATCH:
                data = source.read(WRITE_REQUEST_SIZE)
                if not data:
                    last = True
                    break
                hasher.update(data)
                batch.append(Request(CMD_WRITE, (handle, int64(sent), data), len(data)))
                sent += len(data)
            if not last:
                self._acknowledged(batch, (yield batch))
                continue
            replies = yield [*batch, Request(CMD_FSTAT, (handle,)), Request(CMD_CLOSE, (handle,))]
            self._acknowledged(batch, replies[:-2])
            written = replies[-2].attrs().st_size
            replies[-1].check()
            if hasher.hexdigests()["blake3"] != job.blake3:
                raise _changed(job)
            return sent, written if written is not None else -1

    def _acknowledged(self, writes: Sequence[Request], replies: Sequence[Reply]) -> None:
        """Check the write replies; their bytes count as progress once the server has them."""
        for write, reply in zip(writes, replies, strict=True):
            reply.check()
            if self.progress is not None:
                self.progress(write.payload)

    def _forget(self, job: UploadJob, tmp: str) -> Steps[None]:
        """Remove this file's temporary (best effort) and stop tracking it."""
        with self.lock:
            tracked = self.live.pop(job, None) is not None
        if tracked:
            (reply,) = yield [Request(CMD_REMOVE, (tmp,))]
            try:
                reply.check()
            except TRANSFER_ERRORS as exc:
                if not is_missing(exc):
                    with self.lock:
                        self.live[job] = tmp  # left for the final cleanup
        return None


def rename(server: Server, job: UploadJob, tmp: str) -> Steps[bool]:
    """Rename *tmp* into place without overwriting; False if a file appeared there meanwhile.

    SFTP rename refuses to replace an existing file (OpenSSH uses link()).  Only if it
    failed with nothing in the way (a server whose rename is unusual) is ``posix-rename``
    tried.  The caller decides about a file that appeared (identical is fine).
    """
    final = str(job.remote)
    try:
        (renamed,) = yield [Request(CMD_RENAME, (tmp, final))]
        try:
            renamed.check()
            return True
        except OSError:
            pass
        (found,) = yield [Request(CMD_LSTAT, (final,))]
        try:
            found.attrs()
            return False
        except TRANSFER_ERRORS as exc:
            if not is_missing(exc):
                raise
        (posix,) = yield [Request(CMD_EXTENDED, ("posix-rename@openssh.com", tmp, final))]
        posix.check()
        return True
    except TRANSFER_ERRORS as exc:
        raise server.error(exc, "upload", job.remote) from exc


def _changed(job: UploadJob) -> StorageError:
    return StorageError(
        "the local file changed since it was hashed",
        where=str(job.local),
        hint="re-run plan so the new content is checksummed, then apply",
    )


def _no_attrs() -> paramiko.SFTPAttributes:
    return paramiko.SFTPAttributes()
