"""A file server reached as a locally mounted folder: remote paths are local absolute paths."""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_mod
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from blake3 import blake3 as _blake3

from scisync._util.hashing import StreamingHasher, hash_file, normalise_algorithm
from scisync.errors import StorageError, os_error_hint
from scisync.storage._copier import CopyProcess
from scisync.storage._durable import PendingBatch, unconfirmed
from scisync.storage._local_download import (
    FetchedBatch,
    TargetFolders,
    fetch,
    opened_path,
)
from scisync.storage._transfer import (
    NO_HARDLINK_ERRNOS,
    TEMP_MARKER,
    cancelled,
    copy_stream,
    failures,
    is_temp_name,
    place_without_overwrite,
    raise_errors,
    run_each,
    run_parallel,
    stale_temporaries,
    sweep_local_temporaries,
    temp_name,
)
from scisync.storage.base import (
    CancelToken,
    DigestsCallback,
    DownloadJob,
    FileDoneCallback,
    LinkWitness,
    ProgressCallback,
    RemotePath,
    RemoteStat,
    UploadJob,
    done_by_job,
)
from scisync.storage.roots import Roots


def _local(path: RemotePath) -> Path:
    if not path.is_absolute():
        raise StorageError(
            f"storage path {str(path)!r} is not absolute",
            where=str(path),
            hint="the dataset's source folder must be an absolute path",
        )
    return Path(str(path))


def _os_error(exc: OSError, action: str, where: Path | RemotePath | str) -> StorageError:
    return StorageError(
        f"cannot {action}: {exc.strerror or exc}",
        where=str(where),
        hint=os_error_hint(exc),
    )


class LocalStorage:
    """The "file server" is this machine's file system (e.g. an NFS or GPFS mount).

    Files are copied (or hard-linked, with ``hardlink=True``, when source and destination
    share a file system) to a temporary name in the destination folder, verified and then
    linked into place so that a reader never sees half a file and an existing file is
    never replaced.  An upload batch is flushed to disk once, when it ends
    (:mod:`scisync.storage._durable`; the policy is in docs/storage.md).
    """

    def __init__(
        self,
        hardlink: bool = False,
        *,
        workers: int = 4,
        roots: Roots | None = None,
        offload: bool = True,
    ) -> None:
        self.hardlink = hardlink
        self.workers = workers
        self.roots = roots
        # Small-file batches are copied by a second process (see :mod:`._copier`).
        self._copier = CopyProcess(roots) if offload and not hardlink else None
        # Held by an upload batch of small files for its whole run (see :meth:`upload`).
        self._small_lane = threading.Lock()
        # The roots as the file system resolves them: a path is checked after resolving
        # its symlinks, so a link under a root cannot lead out of it.
        self._resolved = (
            None
            if roots is None
            else Roots(
                writable=tuple(_resolved(r) for r in roots.writable),
                read_only=tuple(_resolved(r) for r in roots.read_only),
                setting=roots.setting,
            )
        )
        self._prefixes = (
            ()
            if self._resolved is None
            else tuple(
                (str(r), str(r).rstrip("/") + "/")
                for r in (*self._resolved.writable, *self._resolved.read_only)
            )
        )

    def _check_resolved_read(self, real: str) -> None:
        """Refuse a resolved path (absolute, no ``..``, no symlinks) outside the roots.

        A resolved path is normal, so the test is a string prefix; the rule itself (and
        its message) is :meth:`Roots.check_read`'s, which runs for whatever the prefix
        test does not vouch for."""
        assert self._resolved is not None
        if real.startswith("//") or not any(
            real == root or real.startswith(prefix) for root, prefix in self._prefixes
        ):
            self._resolved.check_read(real)

    def _check_read(self, path: Path) -> None:
        if self.roots is not None and self._resolved is not None:
            self.roots.check_read(path.as_posix())
            self._resolved.check_read(os.path.realpath(path))

    def _check_write(self, path: Path) -> None:
        if self.roots is not None and self._resolved is not None:
            self.roots.check_write(path.as_posix())
            self._resolved.check_write(os.path.realpath(path))

    def describe(self) -> str:
        return "local file system"

    def close(self) -> None:
        """Stop the process copying small files, if one was started."""
        if self._copier is not None:
            self._copier.close()

    def stat(self, path: RemotePath) -> RemoteStat | None:
        local = _local(path)
        self._check_read(local.parent)
        try:
            st = local.lstat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _os_error(exc, "read file information", path) from exc
        if stat_mod.S_ISDIR(st.st_mode):
            raise StorageError(
                "expected a file but found a folder",
                where=str(path),
                hint="a dataset file path must name a file",
            )
        return RemoteStat(
            path=path,
            size=st.st_size,
            mtime=st.st_mtime,
            is_symlink=stat_mod.S_ISLNK(st.st_mode),
        )

    def list_tree(self, folder: RemotePath) -> Mapping[RemotePath, RemoteStat]:
        """Every file below *folder*; symlinks are reported, not followed; temp files skipped.

        A file an interrupted upload placed but never confirmed durable (its temporary
        is still a second link to it) is left out: the plan uploads it again, and the
        upload re-verifies it (see :meth:`_repair_and_sweep`).
        """
        root = _local(folder)
        self._check_read(root)
        found: dict[RemotePath, RemoteStat] = {}

        def fail(exc: OSError) -> None:
            if exc.errno != errno.ENOENT:
                raise _os_error(exc, "list folder", Path(exc.filename or root)) from exc

        for dirpath, _dirs, files in os.walk(root, onerror=fail):
            skipped = _unconfirmed_names(Path(dirpath), files)
            for name in files:
                if is_temp_name(name) or name in skipped:
                    continue
                full = Path(dirpath, name)
                st = full.lstat()
                remote = RemotePath(full.as_posix())
                found[remote] = RemoteStat(
                    path=remote,
                    size=st.st_size,
                    mtime=st.st_mtime,
                    is_symlink=stat_mod.S_ISLNK(st.st_mode),
                )
        return dict(sorted(found.items()))

    def remote_checksum(self, path: RemotePath, algorithm: str) -> str | None:
        name = normalise_algorithm(algorithm)
        self._check_read(_local(path))
        return hash_file(_local(path), [name])[name]

    # -- uploads ---------------------------------------------------------------------

    def upload(
        self,
        jobs: Sequence[UploadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
        links: LinkWitness | None = None,
    ) -> None:
        finished = done_by_job(jobs, done)
        batch = PendingBatch()
        folders = _WriteFolders(self)
        witness = _JobWitness(jobs, links) if self.hardlink else None

        def work(job: UploadJob, abort: threading.Event) -> None:
            self._upload_one(job, progress, abort, batch, folders, witness)
            finished(job)

        threads = _threads_for(jobs, self.workers)
        # Small-file batches of datasets in flight at once run one after another.  Each
        # file is a handful of system calls, and every call hands the GIL to another
        # batch's thread: with four in flight a first apply of 100,000 files made 689,000
        # context switches and spent 29 s of CPU, against 90,000 and 21 s one at a time
        # (docs/performance.md).  The other datasets' requests still overlap the copy.
        lane = self._small_lane if threads == 1 else contextlib.nullcontext()
        with lane:
            self._repair_and_sweep(jobs)
            copier = self._copier if threads == 1 and len(jobs) >= OFFLOAD_FROM else None
            if copier is not None and copier.upload(jobs, finished, progress, cancel):
                return
            try:
                run_parallel(work, jobs, threads, cancel)
            finally:
                _flush(batch)

    def _repair_and_sweep(self, jobs: Sequence[UploadJob]) -> None:
        """Remove the temporaries a stopped upload left; first re-verify what they mark.

        A temporary that is a second link to its placed name marks a file whose batch
        never finished flushing: after a power cut its content may be short or zeros.
        Such a file is kept if it still holds the job's size and blake3, and removed
        (uploaded again below) if not.  It was never reported done, so never registered.
        A differing file *without* that mark is never touched (the upload refuses it).
        """
        by_folder: dict[str, dict[str, UploadJob]] = {}
        for job in jobs:
            head, name = os.path.split(str(job.remote))
            if not head.startswith("/"):
                _local(job.remote)  # raises the "not absolute" error
            by_folder.setdefault(head, {})[name] = job
        for head, named in by_folder.items():
            folder = Path(head)
            try:
                listing = os.listdir(folder)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise _os_error(exc, "list folder", folder) from exc
            for name in stale_temporaries(listing, named):
                final = name[1 : name.index(TEMP_MARKER)]
                target, temporary = folder / final, folder / name
                try:
                    if unconfirmed(target, temporary) and not _holds(target, named[final]):
                        self._check_write(target)
                        target.unlink()
                    temporary.unlink(missing_ok=True)
                except OSError as exc:
                    raise _os_error(exc, "repair file", target) from exc

    def _upload_one(
        self,
        job: UploadJob,
        progress: ProgressCallback | None,
        abort: threading.Event,
        batch: PendingBatch,
        folders: _WriteFolders,
        witness: _JobWitness | None,
    ) -> None:
        # Strings, not Paths, on this per-file path: pathlib's parsing was a fifth of a
        # small-file upload's time.  No look before the write either: an existing name
        # shows up as EEXIST when the file is linked into place, and is checked then.
        target = str(job.remote)
        if not target.startswith("/"):
            _local(job.remote)  # raises the "not absolute" error
        folder, name = os.path.split(target)
        folders.check_write(folder, name)
        folders.create(folder)
        if witness is not None and self._try_hardlink(job, target, batch, witness):
            pass
        elif job.size <= SMALL_FILE:
            self._copy_small(job, folder, name, abort, batch)
        else:
            self._copy_streaming(job, folder, name, progress, abort, batch)
            return  # progress was reported chunk by chunk
        if progress is not None:
            progress(job.size)

    def _copy_small(
        self, job: UploadJob, folder: str, name: str, abort: threading.Event, batch: PendingBatch
    ) -> None:
        """Copy a file that fits one read: plain system calls, no file objects."""
        if abort.is_set():
            raise cancelled()
        target = os.path.join(folder, name)
        try:
            data = _read_small(job.local, job.size)
        except OSError as exc:
            raise _os_error(exc, "read file", job.local) from exc
        if len(data) != job.size or _blake3(data).hexdigest() != job.blake3:
            raise _changed_since_hashed(job)
        tmp = os.path.join(folder, temp_name(name))
        handed_over = False
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            handed_over = self._place_unflushed(tmp, target, job, batch)
        except OSError as exc:
            raise _os_error(exc, "write file", Path(target)) from exc
        finally:
            if not handed_over:
                _unlink_quietly(tmp)

    def _copy_streaming(
        self,
        job: UploadJob,
        folder: str,
        name: str,
        progress: ProgressCallback | None,
        abort: threading.Event,
        batch: PendingBatch,
    ) -> None:
        """Copy a large file chunk by chunk, hashing each chunk as it passes."""
        target = os.path.join(folder, name)
        tmp = os.path.join(folder, temp_name(name))
        handed_over = False
        try:
            hasher = StreamingHasher(["blake3"], size_hint=job.size)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as sink, job.local.open("rb") as source:
                size = copy_stream(source, sink.write, hasher, progress, abort)
            if size != job.size or hasher.hexdigests()["blake3"] != job.blake3:
                raise _changed_since_hashed(job)
            handed_over = self._place_unflushed(tmp, target, job, batch)
        except OSError as exc:
            raise _os_error(exc, "write file", Path(target)) from exc
        finally:
            if not handed_over:
                _unlink_quietly(tmp)

    def _same_file_present(self, target: Path, job: UploadJob) -> bool:
        """True if *target* already holds the job's content; error if it holds another."""
        try:
            st = target.lstat()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _os_error(exc, "read file information", target) from exc
        if not stat_mod.S_ISREG(st.st_mode):
            raise StorageError(
                "something other than a regular file is in the way",
                where=str(target),
                hint="move it away and re-run",
            )
        if st.st_size != job.size or hash_file(target, ["blake3"])["blake3"] != job.blake3:
            raise StorageError(
                "a different file already exists here",
                where=str(target),
                hint="scisync never overwrites a file that differs; move it away and re-run",
            )
        return True

    def _try_hardlink(
        self, job: UploadJob, target: str, batch: PendingBatch, witness: _JobWitness
    ) -> bool:
        """Link the local file into place if possible; False means "copy instead".

        Only content known to be the hashed content is linked (see
        :class:`~scisync.storage.base.LinkWitness`): the witness vouches for the file's
        stat, or the file is read and hashed here first.  The witness then hears the stat
        from just after the link (it moved the ctime, which the hash cache keys on)."""
        try:
            before = os.stat(job.local)
            if before.st_size != job.size:
                raise _changed_since_hashed(job)
            if not witness.vouches(job, before):
                _verify_unchanged(job, before)
            os.link(job.local, target)
        except FileExistsError:
            if self._same_file_present(Path(target), job):
                return True
            # it went away meanwhile: place it
            return self._try_hardlink(job, target, batch, witness)
        except OSError as exc:
            if exc.errno in NO_HARDLINK_ERRNOS:
                return False
            raise _os_error(exc, "hard-link file", Path(target)) from exc
        try:
            after = os.stat(job.local)
        except OSError:
            pass  # gone already: nothing to follow
        else:
            witness.linked(job, before, after)
        # The content is the local file's own, as it is: only the new name is pending.
        batch.add_folder(os.path.dirname(target))
        return True

    def _place_unflushed(self, tmp: str, target: str, job: UploadJob, batch: PendingBatch) -> bool:
        """Link *tmp* into place at *target*, unflushed, keeping *tmp* as the batch's mark.

        True if *tmp* now belongs to *batch* (it removes it once the batch is flushed).  An
        identical file already there is kept; anything else there is an error (never
        replaced).  Where the file system has no hard links there can be no mark: the
        content is flushed first and the temporary renamed into place, as for downloads.
        """
        try:
            os.link(tmp, target)
        except FileExistsError:
            if self._same_file_present(Path(target), job):
                return False
            return self._place_unflushed(tmp, target, job, batch)  # it went away: place it
        except OSError as exc:
            if exc.errno not in NO_HARDLINK_ERRNOS:
                raise
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            if place_without_overwrite(Path(tmp), Path(target), job.blake3, sync_folder=False):
                batch.add_folder(os.path.dirname(target))
            return False
        batch.add_unflushed(target, tmp)
        return True

    # -- downloads -------------------------------------------------------------------

    def download(
        self,
        jobs: Sequence[DownloadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        self.download_reporting(jobs, progress, done, cancel=cancel)

    def download_reporting(
        self,
        jobs: Sequence[DownloadJob],
        progress: ProgressCallback | None = None,
        done: FileDoneCallback | None = None,
        *,
        cancel: CancelToken | None = None,
        digests: DigestsCallback | None = None,
    ) -> None:
        """:meth:`download`, reporting each placed file's digests (computed while it was
        copied) and stat through *digests*; a file found already in place is not reported.

        The batch is copied to verified temporaries, flushed once, then placed
        (:mod:`scisync.storage._local_download`; the policy is in docs/storage.md).
        """
        finished = done_by_job(jobs, done)
        index = {id(job): number for number, job in enumerate(jobs)}
        folders = TargetFolders(_os_error)
        batch = FetchedBatch(folders, _os_error)
        real_folders: dict[str, str] = {}

        def work(job: DownloadJob, abort: threading.Event) -> None:
            if self._fetch_one(job, index[id(job)], progress, abort, folders, batch, real_folders):
                finished(job)  # found in place; the others are reported once placed

        sweep_local_temporaries(job.local for job in jobs)
        try:
            outcomes = run_each(work, jobs, _download_threads(jobs, self.workers), cancel)
            failed = failures(outcomes, cancel) + batch.place(finished, digests)
        finally:
            batch.discard()
        raise_errors(failed)

    def _fetch_one(
        self,
        job: DownloadJob,
        index: int,
        progress: ProgressCallback | None,
        abort: threading.Event,
        folders: TargetFolders,
        batch: FetchedBatch,
        real_folders: dict[str, str],
    ) -> bool:
        """Fetch one file to a verified temporary; True if it was already in place."""
        source = str(job.remote)
        if not source.startswith("/"):
            _local(job.remote)  # raises the "not absolute" error
        target = str(job.local)
        self._check_source(source, real_folders)
        folders.prepare(os.path.dirname(target), job.within)
        if local_copy_matches(job):
            if progress is not None and job.size is not None:
                progress(job.size)
            return True
        fd = self._open_source(source)
        try:
            fetch(job, index, fd, folders, batch, progress, abort)
        except OSError as exc:
            raise _os_error(exc, "download file", job.local) from exc
        return False

    def _check_source(self, source: str, real_folders: dict[str, str]) -> None:
        """Refuse a source outside the roots before opening it: its path as given, and as
        resolved (its folder resolved once per batch; the name itself if a symlink)."""
        if self.roots is None or self._resolved is None:
            return
        folder, name = os.path.split(source)
        real = real_folders.get(folder)
        if real is None or name in ("", ".", "..") or "\x00" in name:
            # A plain name below a folder that passed holds no "..": the folder's check
            # (the first file's) covers the lexical rule for the rest.
            self.roots.check_read(source)
            real = real_folders[folder] = os.path.realpath(folder)
        resolved = os.path.join(real, name)
        if os.path.islink(resolved):
            resolved = os.path.realpath(resolved)
        self._check_resolved_read(resolved)

    def _open_source(self, source: str) -> int:
        """The source open for reading, the opened file's real path checked in the roots
        (a symlink swapped in since :meth:`_check_source` is caught here)."""
        try:
            fd = os.open(source, os.O_RDONLY)
        except FileNotFoundError:
            raise StorageError(
                "file not found on the storage",
                where=source,
                hint="the dataset's files may have been moved or deleted",
            ) from None
        except OSError as exc:
            raise _os_error(exc, "read file", source) from exc
        if self._resolved is not None:
            try:
                self._check_resolved_read(opened_path(fd, source))
            except BaseException:
                os.close(fd)
                raise
        return fd


def _resolved(root: RemotePath) -> RemotePath:
    return RemotePath(os.path.realpath(root))


class _WriteFolders:
    """One upload batch's destination folders: checked, resolved and created once each.

    Checking every file's full path against the roots, and ``realpath`` of it, was a
    third of a small-file upload's time.  A file's name is one plain component, so the
    check of its folder's first file holds for the rest (the resolution is the
    folder's; a symlink as the final component is refused anyway: nothing is written
    through an existing name).
    """

    def __init__(self, storage: LocalStorage) -> None:
        self._storage = storage
        self._checked: set[str] = set()
        self._created: set[str] = set()

    def check_write(self, folder: str, name: str) -> None:
        storage = self._storage
        if storage.roots is None or storage._resolved is None or folder in self._checked:
            return
        target = os.path.join(folder, name)
        storage.roots.check_write(target)
        storage._resolved.check_write(os.path.join(os.path.realpath(folder), name))
        if name not in ("", ".", ".."):
            self._checked.add(folder)

    def create(self, folder: str) -> None:
        if folder in self._created:
            return
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise _os_error(exc, "create folder", Path(folder)) from exc
        self._created.add(folder)


SMALL_FILE = 2**20
"""Up to this size an upload reads the whole file at once (one buffer, no file objects)."""

PARALLEL_MEAN_SIZE = 256 * 2**10
"""Below this mean file size an upload batch runs on one thread."""

OFFLOAD_FROM = 64
"""From this many files, a one-thread batch is copied by the second process.  Not tuned:
a batch pays two round trips to the child (about 3 ms per 100 files when nothing else is
in flight), so a batch of a few files stays here; the crossover was not measured."""


def _threads_for(jobs: Sequence[UploadJob], workers: int) -> int:
    """Threads for an upload batch: several only when its files are large on average.

    Threads overlap the copying and hashing of large files (both release the GIL).  A
    small file is a handful of metadata calls in one folder, which threads only make
    contend for the folder's lock and the GIL: a batch of 16-byte files ran 20-30 %
    faster on one thread than on four, with four datasets in flight (docs/performance.md).
    """
    if not jobs or sum(job.size for job in jobs) < PARALLEL_MEAN_SIZE * len(jobs):
        return 1
    return workers


def _download_threads(jobs: Sequence[DownloadJob], workers: int) -> int:
    """Threads for a download batch, by the rule of :func:`_threads_for` (unknown sizes
    count as large)."""
    sizes = [PARALLEL_MEAN_SIZE if job.size is None else job.size for job in jobs]
    return 1 if not jobs or sum(sizes) < PARALLEL_MEAN_SIZE * len(jobs) else workers


def _unconfirmed_names(folder: Path, listing: Sequence[str]) -> set[str]:
    """Names in *folder* that a temporary beside them still marks as unconfirmed."""
    names = set(listing)
    marked = set()
    for name in listing:
        if is_temp_name(name):
            final = name[1 : name.index(TEMP_MARKER)]
            if final in names and unconfirmed(folder / final, folder / name):
                marked.add(final)
    return marked


def _read_small(path: Path, size: int) -> bytes:
    """The whole content of *path*, expected *size* bytes (one byte more reveals growth)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        wanted = size + 1
        while wanted > 0:
            data = os.read(fd, wanted)
            if not data:
                break
            parts.append(data)
            wanted -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)


class _JobWitness:
    """The caller's :class:`LinkWitness` (if any) asked by job instead of by index."""

    def __init__(self, jobs: Sequence[UploadJob], links: LinkWitness | None) -> None:
        self._links = links
        self._index = {id(job): i for i, job in enumerate(jobs)} if links is not None else {}

    def vouches(self, job: UploadJob, before: os.stat_result) -> bool:
        return self._links is not None and self._links.vouches(self._index[id(job)], before)

    def linked(self, job: UploadJob, before: os.stat_result, after: os.stat_result) -> None:
        if self._links is not None:
            self._links.linked(self._index[id(job)], before, after)


def _content_stamp(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _verify_unchanged(job: UploadJob, before: os.stat_result) -> None:
    """Read and hash a file nobody vouched for before it is linked: its blake3 must be the
    job's, and its stat the same after the read as before it (no write during the read)."""
    digest = hash_file(Path(job.local), ["blake3"])["blake3"]
    if digest != job.blake3 or _content_stamp(os.stat(job.local)) != _content_stamp(before):
        raise _changed_since_hashed(job)


def _changed_since_hashed(job: UploadJob) -> StorageError:
    return StorageError(
        "the local file changed since it was hashed",
        where=str(job.local),
        hint="re-run plan so the new content is checksummed, then apply",
    )


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _holds(target: Path, job: UploadJob) -> bool:
    """True if the regular file *target* has the job's size and blake3."""
    st = target.lstat()
    return (
        stat_mod.S_ISREG(st.st_mode)
        and st.st_size == job.size
        and hash_file(target, ["blake3"])["blake3"] == job.blake3
    )


def _flush(batch: PendingBatch) -> None:
    try:
        batch.flush()
    except OSError as exc:
        raise _os_error(exc, "flush files to disk", Path(exc.filename or "")) from exc


def local_copy_matches(job: DownloadJob) -> bool:
    """True if the download target already exists with the expected size and checksums.

    Without expected checksums an existing file cannot be vouched for: it is downloaded
    again and compared when placed (identical -> kept, different -> error).
    """
    try:
        st = job.local.lstat()
    except FileNotFoundError:
        return False
    if not job.expected or not stat_mod.S_ISREG(st.st_mode):
        return False
    if job.size is not None and st.st_size != job.size:
        return False
    algorithms = [normalise_algorithm(c.algorithm) for c in job.expected]
    digests = hash_file(job.local, algorithms)
    return all(
        digests[normalise_algorithm(c.algorithm)] == c.value.strip().lower() for c in job.expected
    )
