"""The pipelined steps of a download, one generator per file (see :mod:`.pipeline`).

Same guarantees as the one-request-at-a-time path: the file is opened, its size on the
server checked, its bytes streamed into a local temporary (hashed on the way), fsync'd,
verified, and linked into place without overwriting; on any failure the temporary is gone
and nothing is placed.

The last three (fsync, verify, link) run on a small pool of *finisher* threads, not on the
connection's worker: an ``fsync`` waits for the disk (1.6-4 ms per file one at a time on
the development machine), and while it waits the worker goes on receiving other files;
fsyncs issued at once overlap their waits (16 at once: 0.13 ms per 4 KiB file).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_FSTAT, CMD_OPEN, CMD_READ, SFTP_FLAG_READ, int64

from scisync._util.hashing import StreamingHasher
from scisync.errors import ChecksumMismatch, StorageError
from scisync.storage._transfer import (
    confined_write,
    download_algorithms,
    place_without_overwrite,
    temp_name,
    verify_download,
)
from scisync.storage.base import DownloadJob, ProgressCallback
from scisync.storage.local import local_copy_matches
from scisync.storage.sftp import stream
from scisync.storage.sftp.pipeline import MAX_BYTES, Reply, Request, Steps
from scisync.storage.sftp.server import Server
from scisync.storage.ssh import TRANSFER_ERRORS, is_missing

READS_PER_BATCH = max(1, MAX_BYTES // (2 * stream.READ_REQUEST_SIZE))
"""Read requests a file sends before it waits for their replies (bounds its memory)."""

FINISHERS = 16
"""Threads that fsync, verify and place received files (see the module's docstring)."""

MAX_FINISHING = 64
"""Files received but not yet placed; a worker waits beyond it (bounds open descriptors)."""


class Fetcher:
    """Downloads files; *placed* collects the folders that got a new name (to fsync once).

    *finished* is called with each job once its file is in place.  :meth:`close` waits for
    the files handed to the finishers; call it before reading *placed*.
    """

    def __init__(
        self,
        server: Server,
        progress: ProgressCallback | None,
        finished: Callable[[DownloadJob], None],
    ) -> None:
        self.server = server
        self.progress = progress
        self.finished = finished
        self.placed: set[Path] = set()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_FINISHING)
        self._finishers = ThreadPoolExecutor(FINISHERS, thread_name_prefix="scisync-place")

    def close(self) -> None:
        self._finishers.shutdown(wait=True)

    def fetch(self, job: DownloadJob) -> Steps[Future[None] | None]:
        """The file's steps; their result is the finisher's future (None: already here)."""
        if local_copy_matches(job):
            if self.progress is not None and job.size is not None:
                self.progress(job.size)
            self.finished(job)
            return None
        (opened,) = yield [Request(CMD_OPEN, (str(job.remote), SFTP_FLAG_READ, _none()))]
        try:
            handle = opened.handle()
        except TRANSFER_ERRORS as exc:
            if is_missing(exc):
                raise self.server.missing(job.remote) from None
            raise self.server.error(exc, "download", job.remote) from exc
        try:
            tmp = local_temp_for(job)
        except Exception:
            yield [Request(CMD_CLOSE, (handle,))]
            raise
        handed_over = False
        try:
            sink = yield from self._receive_into(job, handle, tmp)
            self._slots.acquire()
            future = self._finishers.submit(self._finish, job, tmp, *sink)
            handed_over = True
            return future
        except TRANSFER_ERRORS as exc:
            raise self.server.error(exc, "download", job.remote) from exc
        finally:
            if not handed_over:
                tmp.unlink(missing_ok=True)

    def _receive_into(
        self, job: DownloadJob, handle: bytes, tmp: Path
    ) -> Steps[tuple[BinaryIO, int, dict[str, str]]]:
        """Stream the file into *tmp*; the still open file, its size and digests."""
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except OSError:
            yield [Request(CMD_CLOSE, (handle,))]
            raise
        sink = os.fdopen(fd, "wb")
        try:
            received, digests = yield from self._receive(job, handle, sink)
            sink.flush()
        except BaseException:
            sink.close()
            raise
        return sink, received, digests

    def _finish(
        self, job: DownloadJob, tmp: Path, sink: BinaryIO, received: int, digests: dict[str, str]
    ) -> None:
        """On a finisher thread: fsync *tmp*, verify it, link it into place."""
        try:
            with sink:
                os.fsync(sink.fileno())
            verify_download(job, digests, received)
            if place_without_overwrite(tmp, job.local, digests["blake3"], sync_folder=False):
                with self._lock:
                    self.placed.add(job.local.parent)
        except TRANSFER_ERRORS as exc:
            raise self.server.error(exc, "download", job.remote) from exc
        finally:
            tmp.unlink(missing_ok=True)
            self._slots.release()
        self.finished(job)

    def _receive(
        self, job: DownloadJob, handle: bytes, sink: BinaryIO
    ) -> Steps[tuple[int, dict[str, str]]]:
        """Read requests in batches (the size check rides on the first, the close on the
        last); a short read is asked again from where it stopped.  The file is closed on
        the server whatever happens."""
        try:
            size = job.size
            first: list[Request] = [Request(CMD_FSTAT, (handle,))]
            if size is None:
                (stat,) = yield first
                size = self._size(job, stat)
                first = []
            hasher = StreamingHasher(download_algorithms(job), size_hint=size)
            done = 0
            while True:
                reads = _reads(done, size)
                last = done + sum(n for _o, n in reads) >= size
                batch = [
                    *first,
                    *(Request(CMD_READ, (handle, int64(o), n), n) for o, n in reads),
                    *([Request(CMD_CLOSE, (handle,))] if last else []),
                ]
                replies = yield batch
                if first:
                    self._size(job, replies[0])
                    replies, first = replies[1:], []
                done = self._consume(replies[: len(reads)], reads, sink, hasher, done)
                if last and done >= size:
                    replies[-1].check()
                    return done, hasher.hexdigests()
                if last:  # a short read after the close went out: open again
                    (opened,) = yield [
                        Request(CMD_OPEN, (str(job.remote), SFTP_FLAG_READ, _none()))
                    ]
                    handle = opened.handle()
        except Exception:
            yield [Request(CMD_CLOSE, (handle,))]
            raise

    def _size(self, job: DownloadJob, reply: Reply) -> int:
        size = reply.attrs().st_size or 0
        if job.size is not None and size != job.size:
            raise ChecksumMismatch(
                f"the file on the server has {size} bytes, {job.size} were expected",
                where=self.server.where(job.remote),
                hint="the file changed on the server; no local file was written",
            )
        return size

    def _consume(
        self,
        replies: Sequence[Reply],
        reads: list[tuple[int, int]],
        sink: BinaryIO,
        hasher: StreamingHasher,
        done: int,
    ) -> int:
        """Write the replies' bytes in order; stop at the first short one (asked again)."""
        for reply, (offset, length) in zip(replies, reads, strict=True):
            if offset != done:
                break
            data = reply.data()
            if not data:
                raise EOFError("the file ended early (it changed on the server)")
            hasher.update(data)
            sink.write(data)
            if self.progress is not None:
                self.progress(len(data))
            done += len(data)
            if len(data) < length:
                break
        return done


def _reads(start: int, size: int) -> list[tuple[int, int]]:
    """(offset, length) of the next batch of read requests from *start*."""
    reads: list[tuple[int, int]] = []
    offset = start
    request = stream.READ_REQUEST_SIZE  # looked up now: tests shrink it
    while offset < size and len(reads) < READS_PER_BATCH:
        length = min(request, size - offset)
        reads.append((offset, length))
        offset += length
    return reads


def _none() -> paramiko.SFTPAttributes:
    return paramiko.SFTPAttributes()


def local_temp_for(job: DownloadJob) -> Path:
    """Create the download's folder (confined under its target) and name its temporary file."""
    target = job.local
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create folder: {exc.strerror or exc}",
            where=str(target.parent),
            hint="check that the download folder is writable",
        ) from exc
    confined_write(target, job.within)  # again: the folders on the way exist now
    return target.parent / temp_name(target.name)
