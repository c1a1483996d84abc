"""A file server reached as a locally mounted folder: remote paths are local absolute paths."""

from __future__ import annotations

import errno
import os
import stat as stat_mod
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from scisync._util.hashing import StreamingHasher, hash_file, normalise_algorithm
from scisync.errors import StorageError, os_error_hint
from scisync.storage._transfer import (
    confined_write,
    copy_stream,
    download_algorithms,
    fsync_dir,
    is_temp_name,
    place_without_overwrite,
    place_without_overwrite_existing,
    run_parallel,
    sweep_local_temporaries,
    temp_name,
    verify_download,
)
from scisync.storage.base import (
    CancelToken,
    DownloadJob,
    FileDoneCallback,
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


def _os_error(exc: OSError, action: str, where: Path | RemotePath) -> StorageError:
    return StorageError(
        f"cannot {action}: {exc.strerror or exc}",
        where=str(where),
        hint=os_error_hint(exc),
    )


class LocalStorage:
    """The "file server" is this machine's file system (e.g. an NFS or GPFS mount).

    Files are copied (or hard-linked, with ``hardlink=True``, when source and destination
    share a file system) to a temporary name in the destination folder, flushed to disk and
    then linked into place so that a reader never sees half a file and an existing file is
    never replaced.
    """

    def __init__(
        self, hardlink: bool = False, *, workers: int = 4, roots: Roots | None = None
    ) -> None:
        self.hardlink = hardlink
        self.workers = workers
        self.roots = roots
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

    def _check_read(self, path: Path) -> None:
        if self.roots is not None and self._resolved is not None:
            self.roots.check_read(path.as_posix())
            self._resolved.check_read(os.path.realpath(path))

    def _check_opened(self, source: Path, fd: int, close: Callable[[], None]) -> None:
        """The file open at *fd* is the one inside the roots (not one a symlink swapped in
        between the check and the open): same device and inode as the resolved path."""
        if self.roots is None:
            return
        try:
            self._check_read(source)
            opened, checked = os.fstat(fd), os.stat(os.path.realpath(source))
            if (opened.st_dev, opened.st_ino) != (checked.st_dev, checked.st_ino):
                raise StorageError(
                    "refusing to read a file that changed while it was opened (a symlink "
                    "was swapped in)",
                    where=str(source),
                    hint="check who else writes this folder, then run the command again",
                )
        except BaseException:
            close()
            raise

    def _check_write(self, path: Path) -> None:
        if self.roots is not None and self._resolved is not None:
            self.roots.check_write(path.as_posix())
            self._resolved.check_write(os.path.realpath(path))

    def describe(self) -> str:
        return "local file system"

    def close(self) -> None:
        """Nothing to release; present for the Storage protocol."""

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
        """Every file below *folder*; symlinks are reported, not followed; temp files skipped."""
        root = _local(folder)
        self._check_read(root)
        found: dict[RemotePath, RemoteStat] = {}

        def fail(exc: OSError) -> None:
            if exc.errno != errno.ENOENT:
                raise _os_error(exc, "list folder", Path(exc.filename or root)) from exc

        for dirpath, _dirs, files in os.walk(root, onerror=fail):
            for name in files:
                if is_temp_name(name):
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
    ) -> None:
        finished = done_by_job(jobs, done)
        placed = _PlacedFolders()

        def work(job: UploadJob, abort: threading.Event) -> None:
            self._upload_one(job, progress, abort, placed)
            finished(job)

        sweep_local_temporaries(_local(job.remote) for job in jobs)
        try:
            run_parallel(work, jobs, self.workers, cancel)
        finally:
            placed.sync()

    def _upload_one(
        self,
        job: UploadJob,
        progress: ProgressCallback | None,
        abort: threading.Event,
        placed: _PlacedFolders,
    ) -> None:
        target = _local(job.remote)
        self._check_write(target)
        if self._same_file_present(target, job):
            if progress is not None:
                progress(job.size)
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error(exc, "create folder", target.parent) from exc
        if self.hardlink and self._try_hardlink(job, target, placed):
            if progress is not None:
                progress(job.size)
            return
        tmp = target.parent / temp_name(target.name)
        try:
            hasher = StreamingHasher(["blake3"], size_hint=job.size)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as sink, job.local.open("rb") as source:
                size = copy_stream(source, sink.write, hasher, progress, abort)
                sink.flush()
                os.fsync(sink.fileno())
            digest = hasher.hexdigests()["blake3"]
            if size != job.size or digest != job.blake3:
                raise StorageError(
                    "the local file changed since it was hashed",
                    where=str(job.local),
                    hint="re-run plan so the new content is checksummed, then apply",
                )
            if place_without_overwrite(tmp, target, digest, sync_folder=False):
                placed.add(target.parent)
        except OSError as exc:
            raise _os_error(exc, "write file", target) from exc
        finally:
            tmp.unlink(missing_ok=True)

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

    def _try_hardlink(self, job: UploadJob, target: Path, placed: _PlacedFolders) -> bool:
        """Link the local file into place if possible; False means "copy instead"."""
        try:
            if job.local.stat().st_size != job.size:
                raise StorageError(
                    "the local file changed since it was hashed",
                    where=str(job.local),
                    hint="re-run plan so the new content is checksummed, then apply",
                )
            os.link(job.local, target)
        except FileExistsError:
            place_without_overwrite_existing(target, job.blake3)
            return True
        except OSError as exc:
            if exc.errno in (
                errno.EXDEV,
                errno.EPERM,
                errno.ENOTSUP,
                errno.EOPNOTSUPP,
                errno.EMLINK,
            ):
                return False
            raise _os_error(exc, "hard-link file", target) from exc
        placed.add(target.parent)
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
        finished = done_by_job(jobs, done)
        placed = _PlacedFolders()

        def work(job: DownloadJob, abort: threading.Event) -> None:
            self._download_one(job, progress, abort, placed)
            finished(job)

        sweep_local_temporaries(job.local for job in jobs)
        try:
            run_parallel(work, jobs, self.workers, cancel)
        finally:
            placed.sync()

    def _download_one(
        self,
        job: DownloadJob,
        progress: ProgressCallback | None,
        abort: threading.Event,
        placed: _PlacedFolders,
    ) -> None:
        source = _local(job.remote)
        target = job.local
        self._check_read(source)
        confined_write(target, job.within)
        if local_copy_matches(job):
            if progress is not None and job.size is not None:
                progress(job.size)
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error(exc, "create folder", target.parent) from exc
        confined_write(target, job.within)  # again: the folders on the way exist now
        tmp = target.parent / temp_name(target.name)
        try:
            try:
                stream = source.open("rb")
            except FileNotFoundError:
                raise StorageError(
                    "file not found on the storage",
                    where=str(job.remote),
                    hint="the dataset's files may have been moved or deleted",
                ) from None
            self._check_opened(source, stream.fileno(), stream.close)
            hasher = StreamingHasher(download_algorithms(job), size_hint=job.size)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with stream, os.fdopen(fd, "wb") as sink:
                size = copy_stream(stream, sink.write, hasher, progress, abort)
                sink.flush()
                os.fsync(sink.fileno())
            digests = hasher.hexdigests()
            verify_download(job, digests, size)
            if place_without_overwrite(tmp, target, digests["blake3"], sync_folder=False):
                placed.add(target.parent)
        except OSError as exc:
            raise _os_error(exc, "download file", target) from exc
        finally:
            tmp.unlink(missing_ok=True)


def _resolved(root: RemotePath) -> RemotePath:
    return RemotePath(os.path.realpath(root))


class _PlacedFolders:
    """The folders a batch placed files in, each fsync'd once when the batch ends.

    Every file's data is fsync'd before its name is linked into place (a name never shows
    half a file); the names themselves become durable here, one fsync per folder rather
    than per file (on ext4 the folder fsync was the larger half of a 16-byte file's cost).
    ``upload``/``download`` return only after this, so the journal's "done" and the SciCat
    registration that follow never point at a name a power cut could lose.
    """

    def __init__(self) -> None:
        self._folders: set[Path] = set()
        self._lock = threading.Lock()

    def add(self, folder: Path) -> None:
        with self._lock:
            self._folders.add(folder)

    def sync(self) -> None:
        with self._lock:
            folders, self._folders = sorted(self._folders), set()
        for folder in folders:
            fsync_dir(folder)


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
