"""Pieces shared by the storage backends: temp names, verification, placing, parallel runs."""

from __future__ import annotations

import errno
import itertools
import os
import secrets
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path, PurePosixPath
from typing import BinaryIO, TypeVar

from scisync._util.hashing import StreamingHasher, hash_file, normalise_algorithm
from scisync.errors import ChecksumMismatch, Problem, StorageError, os_error_hint
from scisync.storage.base import CancelToken, DownloadJob, ProgressCallback

TEMP_MARKER = ".scisync-tmp-"
COPY_CHUNK = 4 * 2**20
NO_HARDLINK_ERRNOS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}
)
"""What ``os.link`` fails with where the file system cannot hard-link (then: rename)."""

Job = TypeVar("Job")
Result = TypeVar("Result")


def temp_name(final_name: str) -> str:
    """``.<name>.scisync-tmp-<random>``: hidden, recognisable, unique per attempt.

    The random part is this process's own random prefix and a counter: unique within
    the process without a ``getrandom`` call per file (a small-file upload makes one
    temporary per file), and across processes (a killed run's temporaries) by the prefix.
    """
    return f".{final_name}{TEMP_MARKER}{_temp_prefix}{next(_temp_counter):x}"


def _new_temp_prefix() -> None:
    global _temp_prefix, _temp_counter
    _temp_prefix = secrets.token_hex(6)
    _temp_counter = itertools.count()


_temp_prefix = ""
_temp_counter = itertools.count()
_new_temp_prefix()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_temp_prefix)  # a child's names are its own


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and TEMP_MARKER in name


def stale_temporaries(listing: Iterable[str], final_names: Collection[str]) -> list[str]:
    """Names in a folder *listing* that are temporaries left for one of *final_names*.

    Only a killed process leaves these (every other failure removes its temporary).  They
    are swept before the same names are uploaded again, so a resumed apply leaves the
    storage as clean as an uninterrupted one.
    """
    return [
        name
        for name in listing
        if is_temp_name(name) and name[1 : name.index(TEMP_MARKER)] in final_names
    ]


def sweep_local_temporaries(paths: Iterable[Path]) -> None:
    """Remove temporaries a killed transfer left beside these local files."""
    grouped: dict[Path, set[str]] = {}
    for path in paths:
        grouped.setdefault(path.parent, set()).add(path.name)
    for folder, names in grouped.items():
        try:
            listing = os.listdir(folder)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StorageError(
                f"cannot list folder: {exc.strerror or exc}",
                where=str(folder),
                hint=os_error_hint(exc),
            ) from exc
        for name in stale_temporaries(listing, names):
            (folder / name).unlink(missing_ok=True)


def names_by_folder(paths: Iterable[PurePosixPath]) -> dict[PurePosixPath, set[str]]:
    """File names grouped by their folder."""
    grouped: dict[PurePosixPath, set[str]] = {}
    for path in paths:
        grouped.setdefault(path.parent, set()).add(path.name)
    return grouped


def download_algorithms(job: DownloadJob) -> tuple[str, ...]:
    """blake3 (for the lockfile) plus every algorithm the job's expected checksums use."""
    return tuple(
        dict.fromkeys(["blake3", *(normalise_algorithm(c.algorithm) for c in job.expected)])
    )


def verify_download(job: DownloadJob, digests: dict[str, str], size: int) -> None:
    """Raise :class:`ChecksumMismatch` if *size* or a digest differs from what the job expects."""
    where = str(job.remote)
    if job.size is not None and size != job.size:
        raise ChecksumMismatch(
            f"downloaded {size} bytes but {job.size} were expected",
            where=where,
            hint="the file changed on the server; check it and re-run",
        )
    for checksum in job.expected:
        algorithm = normalise_algorithm(checksum.algorithm)
        if digests[algorithm].lower() != checksum.value.strip().lower():
            raise ChecksumMismatch(
                f"{algorithm} checksum mismatch: expected {checksum.value}, "
                f"got {digests[algorithm]}",
                where=where,
                hint="the file on the server is corrupt or was changed; no local file was written",
            )


def copy_stream(
    source: BinaryIO,
    sink: Callable[[bytes], object],
    hasher: StreamingHasher,
    progress: ProgressCallback | None,
    abort: threading.Event,
    chunk_size: int = COPY_CHUNK,
) -> int:
    """Copy until EOF, hashing every chunk; memory stays one chunk whatever the size."""
    total = 0
    while True:
        if abort.is_set():
            raise cancelled()
        data = source.read(chunk_size)
        if not data:
            return total
        hasher.update(data)
        sink(data)
        total += len(data)
        if progress is not None:
            progress(len(data))


def fsync_dir(folder: Path) -> None:
    """Make a rename in *folder* durable; ignored where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def place_without_overwrite(
    tmp: Path, target: Path, blake3: str, *, sync_folder: bool = True
) -> bool:
    """Move *tmp* to *target* unless *target* exists; True if placed.

    With ``sync_folder=False`` the caller makes the new name durable itself, one
    :func:`fsync_dir` per folder once a whole batch is placed (see docs/storage.md).

    ``os.link`` fails when the target exists, so a file that appeared meanwhile is never
    replaced.  An identical existing file is fine (tmp is dropped); a different one is a
    :class:`StorageError`.  Where hard links are unsupported the check-then-replace
    fallback leaves a tiny race window, which is documented.
    """
    try:
        os.link(tmp, target)
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        refuse_symlink(target)
        existing = hash_file(target, ["blake3"])["blake3"]
        if existing != blake3:
            raise StorageError(
                "a different file already exists here",
                where=str(target),
                hint="scisync never overwrites a file that differs; move it away and re-run",
            ) from None
        return False
    except OSError as exc:
        if exc.errno not in NO_HARDLINK_ERRNOS:
            raise
        if target.exists() or target.is_symlink():
            tmp.unlink(missing_ok=True)
            return place_without_overwrite_existing(target, blake3)
        os.replace(tmp, target)
        if sync_folder:
            fsync_dir(target.parent)
        return True
    tmp.unlink()
    if sync_folder:
        fsync_dir(target.parent)
    return True


def refuse_symlink(target: Path) -> None:
    """A symlink where a file should land is never followed (it may lead anywhere)."""
    if target.is_symlink():
        raise symlink_in_the_way(target)


def symlink_in_the_way(target: Path) -> StorageError:
    return StorageError(
        "a symlink is in the way of a file scisync writes; it is not followed",
        where=str(target),
        hint="remove the symlink (scisync writes only real files below the target)",
    )


def confined_write(target: Path, within: Path | None) -> None:
    """Refuse to write *target* unless it resolves inside *within* (checked just before
    writing: a symlink planted in the target folder since the plan does not lead out)."""
    if within is None:
        return
    root = os.path.realpath(within)
    resolved = os.path.realpath(target)
    if resolved != root and not resolved.startswith(root.rstrip(os.sep) + os.sep):
        raise outside_target(target, resolved, within)


def outside_target(target: Path, resolved: str, within: Path) -> StorageError:
    return StorageError(
        f"refusing to write {str(target)!r}: it resolves to {resolved!r}, outside the "
        f"target folder {str(within)!r} (a symlink leads out)",
        where=str(target),
        hint="remove the symlink or choose another target folder",
    )


def place_without_overwrite_existing(target: Path, blake3: str) -> bool:
    refuse_symlink(target)
    if hash_file(target, ["blake3"])["blake3"] != blake3:
        raise StorageError(
            "a different file already exists here",
            where=str(target),
            hint="scisync never overwrites a file that differs; move it away and re-run",
        )
    return False


def cancelled() -> StorageError:
    """The error of a transfer stopped by its cancel token (its temporary is removed)."""
    return StorageError("transfer cancelled", hint="re-run to resume")


class _Abort(threading.Event):
    """The event the jobs of one batch check: set on a failure, or when *cancel* is set."""

    def __init__(self, cancel: CancelToken | None) -> None:
        super().__init__()
        self._cancel = cancel

    def is_set(self) -> bool:
        return super().is_set() or (self._cancel is not None and self._cancel.is_set())


def _unless_aborted(
    work: Callable[[Job, threading.Event], Result],
) -> Callable[[Job, threading.Event], Result]:
    """*work*, but a job whose turn comes after the batch was aborted does not start."""

    def guarded(job: Job, abort: threading.Event) -> Result:
        if abort.is_set():
            raise cancelled()
        return work(job, abort)

    return guarded


def run_each(
    work: Callable[[Job, threading.Event], Result],
    jobs: Sequence[Job],
    workers: int,
    cancel: CancelToken | None = None,
) -> list[Result | StorageError]:
    """Run *work* on every job with up to *workers* threads; one result or error per job.

    Every job runs even when another fails (a half-done batch is re-run anyway), unless
    *cancel* is set: then no further job starts and running ones see the event set at
    their next chunk.  An exception other than StorageError (a bug, an injected fault) is
    re-raised once all jobs have finished; on KeyboardInterrupt pending jobs are cancelled
    and running ones are told to stop through the event.
    """
    if not jobs:
        return []
    abort = _Abort(cancel)
    work = _unless_aborted(work)
    outcomes: list[Result | StorageError] = []
    unexpected: BaseException | None = None
    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            try:
                outcomes.append(work(job, abort))
            except StorageError as exc:
                outcomes.append(exc)
            except Exception as exc:
                unexpected = unexpected or exc
                outcomes.append(StorageError(f"internal error: {exc!r}"))
    else:
        pool = ThreadPoolExecutor(
            max_workers=min(workers, len(jobs)), thread_name_prefix="scisync-io"
        )
        futures: list[Future[Result]] = []
        try:
            futures = [pool.submit(work, job, abort) for job in jobs]
            wait(futures)
        except BaseException:
            abort.set()
            for future in futures:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        for future in futures:
            failure = future.exception()
            if isinstance(failure, StorageError):
                outcomes.append(failure)
            elif failure is not None:
                unexpected = unexpected or failure
                outcomes.append(StorageError(f"internal error: {failure!r}"))
            else:
                outcomes.append(future.result())
    if unexpected is not None:
        raise unexpected
    return outcomes


def raise_errors(errors: Sequence[StorageError]) -> None:
    """Raise nothing, the one error, or one error carrying every problem."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        problems: list[Problem] = [p for e in errors for p in e.problems]
        every_mismatch = all(isinstance(e, ChecksumMismatch) for e in errors)
        raise (ChecksumMismatch if every_mismatch else StorageError)(problems=problems)


def run_parallel(
    work: Callable[[Job, threading.Event], None],
    jobs: Sequence[Job],
    workers: int,
    cancel: CancelToken | None = None,
) -> None:
    """:func:`run_each`, then raise every storage failure at once (one problem per job).

    A cancelled batch raises one "transfer cancelled" error, not one per job left.
    """
    raise_errors(failures(run_each(work, jobs, workers, cancel), cancel))


def failures(outcomes: Sequence[object], cancel: CancelToken | None = None) -> list[StorageError]:
    """The storage errors among a batch's outcomes; one "transfer cancelled" for all the
    jobs a set *cancel* stopped."""
    failed = [o for o in outcomes if isinstance(o, StorageError) and not _is_cancelled(o)]
    if cancel is not None and cancel.is_set():
        failed.append(cancelled())
    return failed


def _is_cancelled(error: StorageError) -> bool:
    return error.problems[0].what == cancelled().problems[0].what
