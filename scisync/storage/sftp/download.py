"""Downloads: into a local temporary file, hashed while streaming, renamed only when the
digests match; a large file is fetched over every idle connection at once."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import ExitStack

from scisync._util.hashing import StreamingHasher
from scisync.errors import ChecksumMismatch, StorageError
from scisync.storage._transfer import (
    cancelled,
    confined_write,
    download_algorithms,
    fsync_dir,
    place_without_overwrite,
    raise_errors,
    run_parallel,
    sweep_local_temporaries,
    verify_download,
)
from scisync.storage.base import (
    CancelToken,
    DownloadJob,
    FileDoneCallback,
    ProgressCallback,
    RemotePath,
    done_by_job,
)
from scisync.storage.local import local_copy_matches
from scisync.storage.sftp import stream
from scisync.storage.sftp.download_steps import Fetcher, local_temp_for
from scisync.storage.sftp.pipeline import Abort, spread
from scisync.storage.sftp.server import Server
from scisync.storage.sftp.stream import OrderedDownload
from scisync.storage.ssh import TRANSFER_ERRORS, Session, is_missing


class Downloader:
    """Downloads from *server*, several files (or blocks of one) in parallel."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def download(
        self,
        jobs: Sequence[DownloadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        finished = done_by_job(jobs, done)
        for job in jobs:
            confined_write(job.local, job.within)
        sweep_local_temporaries(job.local for job in jobs)
        large = [j for j in jobs if j.size is not None and j.size >= stream.SPLIT_THRESHOLD]
        small = [j for j in jobs if j.size is None or j.size < stream.SPLIT_THRESHOLD]
        failed = self._download_small(small, progress, finished, cancel)

        def work(job: DownloadJob, abort: threading.Event) -> None:
            if local_copy_matches(job):
                if progress is not None and job.size is not None:
                    progress(job.size)
                finished(job)
                return
            with self.server.pool.lease() as session:
                self._download_one(session, job, progress, abort)
            finished(job)

        try:
            run_parallel(work, large, self.server.connections, cancel)
        except StorageError as exc:
            failed.append(exc)
        if cancel is not None and cancel.is_set():
            raise cancelled()
        raise_errors(failed)

    def _download_small(
        self,
        jobs: list[DownloadJob],
        progress: ProgressCallback | None,
        finished: Callable[[DownloadJob], None],
        cancel: CancelToken | None,
    ) -> list[StorageError]:
        """Files below the split size, many in flight per connection (:mod:`.pipeline`);
        each folder that got new names is fsync'd once at the end."""
        fetcher = Fetcher(self.server, progress, finished)
        try:
            outcomes = spread(
                self.server.pool.lease,
                self.server.connections,
                jobs,
                fetcher.fetch,
                Abort(cancel),
            )
        finally:
            fetcher.close()  # every received file is placed (or failed) first
            for folder in fetcher.placed:
                fsync_dir(folder)
        failed: list[StorageError] = []
        for job, received in zip(jobs, outcomes, strict=True):
            outcome = received.exception() if isinstance(received, Future) else received
            if not isinstance(outcome, BaseException):
                continue  # reported done as it finished
            if isinstance(outcome, StorageError):
                if outcome.problems[0].what != cancelled().problems[0].what:
                    failed.append(outcome)
            elif isinstance(outcome, TRANSFER_ERRORS):
                failed.append(self.server.error(outcome, "download", job.remote))
            else:
                raise outcome
        return failed

    def _download_one(
        self,
        session: Session,
        job: DownloadJob,
        progress: ProgressCallback | None,
        abort: threading.Event,
    ) -> None:
        target = job.local
        try:
            attrs = session.sftp.stat(str(job.remote))
        except TRANSFER_ERRORS as exc:
            if is_missing(exc):
                raise self.server.missing(job.remote) from None
            raise self.server.error(exc, "read file information", job.remote) from exc
        size = attrs.st_size or 0
        if job.size is not None and size != job.size:
            raise ChecksumMismatch(
                f"the file on the server has {size} bytes, {job.size} were expected",
                where=self.server.where(job.remote),
                hint="the file changed on the server; no local file was written",
            )
        tmp = local_temp_for(job)
        try:
            hasher = StreamingHasher(download_algorithms(job), size_hint=size)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as sink:

                def consume(data: memoryview) -> None:
                    hasher.update(data)
                    sink.write(data)
                    if progress is not None:
                        progress(len(data))

                received = self._fetch(session, job.remote, size, consume, abort)
                sink.flush()
                os.fsync(sink.fileno())
            if abort.is_set():
                raise cancelled()  # nothing is placed after a cancellation
            digests = hasher.hexdigests()
            verify_download(job, digests, received)
            place_without_overwrite(tmp, target, digests["blake3"])
            fsync_dir(target.parent)
        except TRANSFER_ERRORS as exc:
            raise self.server.error(exc, "download", job.remote) from exc
        finally:
            tmp.unlink(missing_ok=True)

    def _idle_sessions(self, stack: ExitStack, size: int) -> list[Session]:
        """Sessions nobody is using right now (for one large file), returned via *stack*."""
        found: list[Session] = []
        for _ in range(min(self.server.connections, size // stream.SPLIT_BLOCK) - 1):
            extra = stack.enter_context(self.server.pool.lease_if_free())
            if extra is None:
                break
            found.append(extra)
        return found

    def _fetch(
        self,
        session: Session,
        remote: RemotePath,
        size: int,
        consume: Callable[[memoryview], None],
        abort: threading.Event,
    ) -> int:
        """Stream *remote* to *consume* in order; large files also use idle connections.

        On two cores two connections downloaded a large file about a third faster than
        one (bench notes in the report), because paramiko's per-connection work then
        runs in parallel.  Blocks are fetched by whichever connection is free but handed
        to *consume* strictly in order, so hashing still happens while streaming and
        memory stays at most one block per connection.
        """
        if size < stream.SPLIT_THRESHOLD or self.server.connections == 1:
            with session.sftp.open(str(remote), "rb") as handle:
                return session.sftp.read_pipelined(handle.handle, size, consume, abort)
        with ExitStack() as stack:
            sessions = [session, *self._idle_sessions(stack, size)]
            if len(sessions) == 1:
                with session.sftp.open(str(remote), "rb") as handle:
                    return session.sftp.read_pipelined(handle.handle, size, consume, abort)
            fetcher = OrderedDownload(remote, size, consume, abort)
            return fetcher.run([s.sftp for s in sessions])
