"""Uploads: to a hidden temporary name beside the target, checked, then renamed with SFTP's
no-overwrite rename; identical files already there are skipped, different ones refused."""

from __future__ import annotations

import os
import stat as stat_mod
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from scisync._util.hashing import StreamingHasher
from scisync.errors import ChecksumMismatch, StorageError
from scisync.storage._transfer import (
    cancelled,
    copy_stream,
    names_by_folder,
    raise_errors,
    run_each,
    stale_temporaries,
    temp_name,
)
from scisync.storage.base import (
    CancelToken,
    FileDoneCallback,
    ProgressCallback,
    RemotePath,
    UploadJob,
    done_by_job,
)
from scisync.storage.sftp import stream, upload_steps
from scisync.storage.sftp.hashing import RemoteHashing, StreamedChecksums, split
from scisync.storage.sftp.pipeline import Abort, Steps, spread, then
from scisync.storage.sftp.server import Server
from scisync.storage.sftp.stream import WRITE_REQUEST_SIZE
from scisync.storage.ssh import TRANSFER_ERRORS, Session, is_missing

FILE_FAILURES: tuple[type[BaseException], ...] = (StorageError, *TRANSFER_ERRORS)
"""How one file's work fails without it being a bug."""

Job = TypeVar("Job")
Result = TypeVar("Result")


class Uploader:
    """Uploads to *server*, checking copies there with *hashing* when *verify* is set."""

    def __init__(self, server: Server, hashing: RemoteHashing, *, verify: bool) -> None:
        self.server = server
        self.hashing = hashing
        self.verify = verify
        self._dirs_lock = threading.Lock()
        self._known_dirs: set[str] = set()

    def upload(
        self,
        jobs: Sequence[UploadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        """Upload in phases so that slow per-command costs are paid per batch, not per file.

        1. lstat every target (pipelined): absent, or present with the same size, or a conflict;
        2. blake3 of same-size present files (one b3sum per batch, else streamed): equal is
           skipped, different is refused;
        3. send the others to temporary names (small files pipelined many at a time on each
           connection, large ones one per connection; hashed while read);
        4. verify the temporaries' blake3 on the server (batched; skipped without a shell);
        5. rename each into place with SFTP's no-overwrite rename (pipelined).
        Temporaries not renamed are removed whatever happens, including interruptions; once
        *cancel* is set no phase starts a new file and nothing more is renamed into place.
        """
        errors: list[StorageError] = []
        finished = done_by_job(jobs, done)
        self._sweep_stale_temporaries(jobs)
        present, absent = self._probe(jobs, errors, cancel)
        if present:
            self._skip_identical(present, progress, finished, errors)
        live: dict[UploadJob, str] = {}  # temporaries that may exist on the server
        lock = threading.Lock()
        try:
            sent, on_server = self._send_all(absent, progress, finished, live, lock, errors, cancel)
            if self.verify and sent:
                self._verify_sent(sent, live, on_server, errors, cancel)
            self._rename_all(sent, live, lock, errors, cancel)
        finally:
            if live:
                self.server.remove_paths(list(live.values()))
        if cancel is not None and cancel.is_set():
            raise cancelled()
        raise_errors(errors)

    def _spread(
        self,
        jobs: Sequence[Job],
        make_steps: Callable[[Job], Steps[Result]],
        cancel: CancelToken | None,
    ) -> list[Result | BaseException]:
        return spread(
            self.server.pool.lease, self.server.connections, jobs, make_steps, Abort(cancel)
        )

    def _probe(
        self, jobs: Sequence[UploadJob], errors: list[StorageError], cancel: CancelToken | None
    ) -> tuple[list[UploadJob], list[UploadJob]]:
        """Phase 1: (present with the same size, absent); conflicts go to *errors*."""
        present: list[UploadJob] = []
        absent: list[UploadJob] = []
        outcomes = self._spread(jobs, lambda job: upload_steps.probe(self.server, job), cancel)
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                errors.append(self._failure(outcome, "prepare upload to", job.remote))
            else:
                (present if outcome else absent).append(job)
        return present, absent

    def _failure(self, outcome: BaseException, action: str, path: RemotePath) -> StorageError:
        """A file's failure as a StorageError naming it; anything else is a bug and raised."""
        if isinstance(outcome, FILE_FAILURES):
            return self.server.error(outcome, action, path)
        raise outcome

    def _skip_identical(
        self,
        present: list[UploadJob],
        progress: ProgressCallback | None,
        finished: Callable[[UploadJob], None],
        errors: list[StorageError],
    ) -> None:
        """Phase 2: files already there count as done if identical, else as conflicts."""
        remote = self.hashing.blake3([(j.remote, j.size) for j in present])
        for job in present:
            if remote.get(str(job.remote)) == job.blake3:
                if progress is not None:
                    progress(job.size)
                finished(job)
            else:
                errors.append(upload_steps.differs(self.server, job.remote))

    def _send_all(
        self,
        absent: list[UploadJob],
        progress: ProgressCallback | None,
        finished: Callable[[UploadJob], None],
        live: dict[UploadJob, str],
        lock: threading.Lock,
        errors: list[StorageError],
        cancel: CancelToken | None,
    ) -> tuple[dict[UploadJob, str], dict[str, str]]:
        """Phase 3: send to temporaries; returns those sent, and digests checked inline."""
        ready = self._make_folders(absent, errors)
        small = [j for j in ready if j.size < stream.SPLIT_THRESHOLD]
        large = [j for j in ready if j.size >= stream.SPLIT_THRESHOLD]
        sent: dict[UploadJob, str] = {}
        on_server: dict[str, str] = {}
        failure: list[BaseException] = []

        def send_large() -> None:
            try:
                self._send_large(large, progress, sent, on_server, live, lock, errors, cancel)
            except BaseException as exc:  # a bug: raised below, never lost with the thread
                failure.append(exc)

        side = threading.Thread(target=send_large, name="scisync-large", daemon=True)
        side.start()
        try:
            outcomes, temporaries, streamed = self._send_small(
                small, progress, finished, live, lock, cancel
            )
        finally:
            side.join()
        if failure:
            raise failure[0]
        on_server.update(streamed)
        for job, outcome in zip(small, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                errors.append(self._failure(outcome, "upload", job.remote))
            else:
                sent[job] = temporaries[job]
        return sent, on_server

    def _send_small(
        self,
        small: list[UploadJob],
        progress: ProgressCallback | None,
        finished: Callable[[UploadJob], None],
        live: dict[UploadJob, str],
        lock: threading.Lock,
        cancel: CancelToken | None,
    ) -> tuple[list[BaseException | None], dict[UploadJob, str], dict[str, str]]:
        """Small files, pipelined; each is named to the server's b3sum once it is closed,
        so checking them overlaps sending them.  Returns (outcomes, temporaries, digests)."""
        streamed: StreamedChecksums | None = None
        if self.verify and small and self.hashing.has_shell is not False:
            with self.server.pool.lease() as session:
                streamed = StreamedChecksums(self.hashing, session, "blake3")
        sender = upload_steps.Sender(
            self.server, progress, live, lock, streamed.add if streamed else None
        )
        temporaries = {job: str(job.remote.parent / temp_name(job.remote.name)) for job in small}
        try:
            outcomes = self._spread(
                small,
                # done as soon as its bytes are on the server (renamed into place later)
                lambda job: then(sender.send(job, temporaries[job]), lambda: finished(job)),
                cancel,
            )
        finally:
            digests = streamed.finish() if streamed is not None else {}
        return outcomes, temporaries, digests

    def _send_large(
        self,
        large: list[UploadJob],
        progress: ProgressCallback | None,
        sent: dict[UploadJob, str],
        on_server: dict[str, str],
        live: dict[UploadJob, str],
        lock: threading.Lock,
        errors: list[StorageError],
        cancel: CancelToken | None,
    ) -> None:
        """Large files, one connection each (splitting an upload measured slower)."""

        def send(job: UploadJob, abort: threading.Event) -> None:
            with self.server.pool.lease() as session:
                tmp = self._send(session, job, progress, abort)
                with lock:
                    live[job] = tmp
                if self.verify:
                    # Check a large file now, while other workers still send.
                    found = self.hashing.checksums(session, [tmp], "blake3")
                    with lock:
                        on_server.update(found)
            with lock:
                sent[job] = tmp

        outcomes = run_each(send, large, self.server.connections, cancel)
        with lock:
            errors.extend(o for o in outcomes if isinstance(o, StorageError))

    def _make_folders(self, jobs: list[UploadJob], errors: list[StorageError]) -> list[UploadJob]:
        """Create the target folders (once each); jobs whose folder failed go to *errors*."""
        failed: dict[RemotePath, StorageError] = {}
        if jobs:
            with self.server.pool.lease() as session:
                for folder in dict.fromkeys(job.remote.parent for job in jobs):
                    try:
                        self._makedirs(session, folder)
                    except FILE_FAILURES as exc:
                        failed[folder] = self.server.error(exc, "create folder", folder)
        for job in jobs:
            if job.remote.parent in failed:
                errors.append(failed[job.remote.parent])
        return [job for job in jobs if job.remote.parent not in failed]

    def _verify_sent(
        self,
        sent: dict[UploadJob, str],
        live: dict[UploadJob, str],
        on_server: dict[str, str],
        errors: list[StorageError],
        cancel: CancelToken | None,
    ) -> None:
        """Phase 4: a temporary whose blake3 on the server differs is removed, not renamed."""
        workers = self.server.connections
        items = list(sent.items())
        unchecked = [tmp for job, tmp in items if tmp not in on_server]
        groups = split(unchecked, workers) if unchecked else []

        def verify(group: list[str], _abort: threading.Event) -> dict[str, str]:
            with self.server.pool.lease() as session:
                return self.hashing.checksums_of_many(session, group, "blake3")

        for found in run_each(verify, groups, workers, cancel):
            if isinstance(found, StorageError):
                raise found
            on_server.update(found)
        for job, tmp in items:
            if tmp in on_server and on_server[tmp] != job.blake3:
                errors.append(
                    ChecksumMismatch(
                        "the uploaded copy's blake3 differs from the local file",
                        where=self.server.where(job.remote),
                        hint="the transfer was corrupted; re-run to upload again",
                    )
                )
                del sent[job]
                live.pop(job, None)
                self.server.remove_paths([tmp])

    def _rename_all(
        self,
        sent: dict[UploadJob, str],
        live: dict[UploadJob, str],
        lock: threading.Lock,
        errors: list[StorageError],
        cancel: CancelToken | None,
    ) -> None:
        """Phase 5: each temporary into place; a renamed one leaves *live*."""
        jobs = list(sent)
        outcomes = self._spread(
            jobs, lambda job: upload_steps.rename(self.server, job, sent[job]), cancel
        )
        appeared: list[UploadJob] = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                errors.append(self._failure(outcome, "upload", job.remote))
            elif outcome:
                with lock:
                    live.pop(job, None)
            else:
                appeared.append(job)
        for job in appeared:
            try:
                self._accept_existing(sent[job], job)
            except FILE_FAILURES as exc:
                errors.append(self.server.error(exc, "upload", job.remote))
            with lock:
                live.pop(job, None)

    def _sweep_stale_temporaries(self, jobs: Sequence[UploadJob]) -> None:
        """Remove temporaries a killed upload left for these files (one listing per folder)."""
        with self.server.pool.lease() as session:
            for folder, names in names_by_folder(job.remote for job in jobs).items():
                try:
                    listing = session.sftp.listdir(str(folder))
                except TRANSFER_ERRORS as exc:
                    if is_missing(exc):
                        continue
                    raise self.server.error(exc, "list folder", folder) from exc
                for name in stale_temporaries(listing, names):
                    try:
                        session.sftp.remove(str(folder / name))
                    except TRANSFER_ERRORS as exc:
                        if not is_missing(exc):
                            raise self.server.error(
                                exc, "remove stale temporary", folder / name
                            ) from exc

    def _send(
        self,
        session: Session,
        job: UploadJob,
        progress: ProgressCallback | None,
        abort: threading.Event,
    ) -> str:
        """Write the file to a temporary name beside its target; return that name."""
        sftp = session.sftp
        tmp = str(job.remote.parent / temp_name(job.remote.name))
        created = False
        try:
            self._makedirs(session, job.remote.parent)
            hasher = StreamingHasher(["blake3"], size_hint=job.size)
            with job.local.open("rb") as source:
                remote = sftp.open(tmp, "wbx")
                created = True
                with remote:
                    remote.MAX_REQUEST_SIZE = WRITE_REQUEST_SIZE
                    remote.set_pipelined(True)
                    # One connection per file: splitting an upload over several measured
                    # slower (about 2x for a lone 256 MiB file), unlike downloads.
                    size = copy_stream(
                        source, remote.write, hasher, progress, abort, 4 * WRITE_REQUEST_SIZE
                    )
                if os.fstat(source.fileno()).st_size != size:
                    size = -1  # the local file grew or shrank meanwhile
            if size != job.size or hasher.hexdigests()["blake3"] != job.blake3:
                raise StorageError(
                    "the local file changed since it was hashed",
                    where=str(job.local),
                    hint="re-run plan so the new content is checksummed, then apply",
                )
            written = sftp.stat(tmp).st_size
            if written != size:
                raise StorageError(
                    f"the server stored {written} bytes of {size}",
                    where=self.server.where(job.remote),
                    hint="the server's disk may be full or a quota reached; re-run to retry",
                )
            created = False
            return tmp
        except TRANSFER_ERRORS as exc:
            raise self.server.error(exc, "upload", job.remote) from exc
        finally:
            if created:
                self.server.remove_quietly(session, tmp)

    def _accept_existing(self, tmp: str, job: UploadJob) -> None:
        """A file appeared at the target while we uploaded: identical is fine, else refused.

        The temporary is removed either way (outside the pipeline: hashing needs sessions).
        """
        with self.server.pool.lease() as session:
            self.server.remove_quietly(session, tmp)
            attrs = session.sftp.lstat(str(job.remote))
        upload_steps.same_size(self.server, attrs, job)
        if self.hashing.blake3([(job.remote, job.size)]).get(str(job.remote)) != job.blake3:
            raise upload_steps.differs(self.server, job.remote)

    def _makedirs(self, session: Session, folder: RemotePath) -> None:
        with self._dirs_lock:
            if str(folder) in self._known_dirs:
                return
        missing: list[RemotePath] = []
        current = folder
        while True:
            try:
                attrs = session.sftp.stat(str(current))
            except TRANSFER_ERRORS as exc:
                if not is_missing(exc) or current == current.parent:
                    raise
                missing.append(current)
                current = current.parent
                continue
            if not stat_mod.S_ISDIR(attrs.st_mode or 0):
                raise StorageError(
                    "a file is in the way of a folder",
                    where=self.server.where(current),
                    hint="move the file away on the server and re-run",
                )
            break
        for path in reversed(missing):
            try:
                session.sftp.mkdir(str(path))
            except OSError:
                # Another worker may have created it a moment ago; anything else shows below.
                attrs = session.sftp.stat(str(path))
                if not stat_mod.S_ISDIR(attrs.st_mode or 0):
                    raise
        with self._dirs_lock:
            self._known_dirs.add(str(folder))
