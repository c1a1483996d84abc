"""Uploads: to a hidden temporary name beside the target, checked, then renamed with SFTP's
no-overwrite rename; identical files already there are skipped, different ones refused."""

from __future__ import annotations

import os
import stat as stat_mod
import threading
from collections.abc import Callable, Sequence

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
from scisync.storage.sftp import stream
from scisync.storage.sftp.hashing import RemoteHashing, split
from scisync.storage.sftp.server import Server
from scisync.storage.sftp.stream import WRITE_REQUEST_SIZE
from scisync.storage.ssh import TRANSFER_ERRORS, Session, is_missing


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

        1. lstat every target (parallel): absent, or present with the same size, or a conflict;
        2. blake3 of same-size present files (one b3sum per batch, else streamed): equal is
           skipped, different is refused;
        3. send the others to temporary names (parallel, pipelined, hashed while read);
        4. verify the temporaries' blake3 on the server (batched; skipped without a shell);
        5. rename each into place with SFTP's no-overwrite rename.
        Temporaries not renamed are removed whatever happens, including interruptions; once
        *cancel* is set no phase starts a new file and nothing more is renamed into place.
        """
        errors: list[StorageError] = []
        finished = done_by_job(jobs, done)
        self._sweep_stale_temporaries(jobs)
        present, absent = self._probe(jobs, errors, cancel)
        if present:
            self._skip_identical(present, progress, finished, errors)
        pending: dict[UploadJob, str] = {}  # job -> temporary path on the server
        pending_lock = threading.Lock()
        try:
            on_server = self._send_all(
                absent, progress, finished, pending, pending_lock, errors, cancel
            )
            if self.verify and pending:
                self._verify_sent(pending, on_server, errors, cancel)
            self._rename_all(pending, pending_lock, errors, cancel)
        finally:
            if pending:
                self.server.remove_paths(list(pending.values()))
        if cancel is not None and cancel.is_set():
            raise cancelled()
        raise_errors(errors)

    def _probe(
        self, jobs: Sequence[UploadJob], errors: list[StorageError], cancel: CancelToken | None
    ) -> tuple[list[UploadJob], list[UploadJob]]:
        """Phase 1: (present with the same size, absent); conflicts go to *errors*."""

        def probe(job: UploadJob, _abort: threading.Event) -> bool:
            with self.server.pool.lease() as session:
                try:
                    return self._present_same_size(session, job)
                except TRANSFER_ERRORS as exc:
                    raise self.server.error(exc, "prepare upload to", job.remote) from exc

        present: list[UploadJob] = []
        absent: list[UploadJob] = []
        outcomes = run_each(probe, jobs, self.server.connections, cancel)
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, StorageError):
                errors.append(outcome)
            else:
                (present if outcome else absent).append(job)
        return present, absent

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
                errors.append(self._differs(job.remote))

    def _send_all(
        self,
        absent: list[UploadJob],
        progress: ProgressCallback | None,
        finished: Callable[[UploadJob], None],
        pending: dict[UploadJob, str],
        pending_lock: threading.Lock,
        errors: list[StorageError],
        cancel: CancelToken | None,
    ) -> dict[str, str]:
        """Phase 3: send to temporaries (into *pending*); returns digests checked inline."""
        on_server: dict[str, str] = {}

        def send(job: UploadJob, abort: threading.Event) -> None:
            with self.server.pool.lease() as session:
                tmp = self._send(session, job, progress, abort)
                if self.verify and job.size >= stream.SPLIT_THRESHOLD:
                    # Check a large file now, while other workers still send.
                    found = self.hashing.checksums(session, [tmp], "blake3")
                    with pending_lock:
                        on_server.update(found)
            with pending_lock:
                pending[job] = tmp
            finished(job)  # its bytes are on the server (renamed into place later)

        outcomes = run_each(send, absent, self.server.connections, cancel)
        errors.extend(o for o in outcomes if isinstance(o, StorageError))
        return on_server

    def _verify_sent(
        self,
        pending: dict[UploadJob, str],
        on_server: dict[str, str],
        errors: list[StorageError],
        cancel: CancelToken | None,
    ) -> None:
        """Phase 4: a temporary whose blake3 on the server differs is removed, not renamed."""
        workers = self.server.connections
        sent = list(pending.items())
        unchecked = [tmp for job, tmp in sent if job.size < stream.SPLIT_THRESHOLD]
        groups = split(unchecked, workers) if unchecked else []

        def verify(group: list[str], _abort: threading.Event) -> dict[str, str]:
            with self.server.pool.lease() as session:
                return self.hashing.checksums(session, group, "blake3")

        for found in run_each(verify, groups, workers, cancel):
            if isinstance(found, StorageError):
                raise found
            on_server.update(found)
        for job, tmp in sent:
            if tmp in on_server and on_server[tmp] != job.blake3:
                errors.append(
                    ChecksumMismatch(
                        "the uploaded copy's blake3 differs from the local file",
                        where=self.server.where(job.remote),
                        hint="the transfer was corrupted; re-run to upload again",
                    )
                )
                del pending[job]
                self.server.remove_paths([tmp])

    def _rename_all(
        self,
        pending: dict[UploadJob, str],
        pending_lock: threading.Lock,
        errors: list[StorageError],
        cancel: CancelToken | None,
    ) -> None:
        """Phase 5: each temporary into place; a renamed one leaves *pending*."""

        def rename(job: UploadJob, _abort: threading.Event) -> None:
            with self.server.pool.lease() as session:
                try:
                    self._rename_into_place(session, pending[job], job)
                except TRANSFER_ERRORS as exc:
                    raise self.server.error(exc, "upload", job.remote) from exc
            with pending_lock:
                del pending[job]

        outcomes = run_each(rename, list(pending), self.server.connections, cancel)
        errors.extend(o for o in outcomes if isinstance(o, StorageError))

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

    def _present_same_size(self, session: Session, job: UploadJob) -> bool:
        """False if nothing is at the target; True if a file of the same size is; else error."""
        try:
            attrs = session.sftp.lstat(str(job.remote))
        except TRANSFER_ERRORS as exc:
            if is_missing(exc):
                return False
            raise
        if not stat_mod.S_ISREG(attrs.st_mode or 0):
            raise StorageError(
                "something other than a regular file is in the way",
                where=self.server.where(job.remote),
                hint="move it away on the server and re-run",
            )
        if attrs.st_size != job.size:
            raise self._differs(job.remote)
        return True

    def _differs(self, path: RemotePath) -> StorageError:
        return StorageError(
            "a different file already exists on the server",
            where=self.server.where(path),
            hint="scisync never overwrites a file that differs; move it away and re-run",
        )

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

    def _rename_into_place(self, session: Session, tmp: str, job: UploadJob) -> None:
        """SFTP rename refuses to replace an existing file (OpenSSH uses link()).

        If it fails because a file appeared meanwhile, an identical one is accepted and a
        different one refused.  Only if it failed with nothing in the way (a server whose
        rename is unusual) is ``posix-rename`` tried.
        """
        sftp = session.sftp
        final = str(job.remote)
        try:
            sftp.rename(tmp, final)
            return
        except OSError:
            pass
        try:
            sftp.lstat(final)
        except TRANSFER_ERRORS as exc:
            if not is_missing(exc):
                raise
            sftp.posix_rename(tmp, final)
            return
        self.server.remove_quietly(session, tmp)
        if not self._present_same_size(session, job) or (
            self.hashing.blake3([(job.remote, job.size)]).get(final) != job.blake3
        ):
            raise self._differs(job.remote)

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
