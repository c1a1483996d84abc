"""Local downloads: a batch is fetched to temporaries, flushed once, then placed.

A small file's own ``fsync`` is a journal commit: a pull of 100,000 small files spent two
thirds of its time in them.  So a batch runs in two phases (the policy is in
docs/storage.md):

1. each file is copied (hashed on the way) to a temporary beside its target and
   verified, unflushed;
2. the batch's temporaries are flushed at once (one ``syncfs`` per file system, shared
   with concurrent batches; an ``fsync`` of each where ``syncfs`` is missing), then each
   is linked into place, never over an existing file, and each folder is flushed once.

A placed name therefore always has durable content, as with a per-file ``fsync``: a crash
before the placement leaves only temporaries, which the next download of those names
sweeps.

Confinement, without resolving every path by hand (``realpath`` was about a third of a
pull's CPU): a target folder's path is checked before it is created, once per batch;
each write and each placement then goes through a descriptor of the folder whose real
path, read from the descriptor itself, is checked inside the download's target folder,
so a symlink swapped in after the check cannot lead a write out.  The source is checked
the same way: opened, then the opened file's real path checked against the storage roots.
"""

from __future__ import annotations

import contextlib
import os
import stat as stat_mod
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scisync._util.hashing import StreamingHasher
from scisync.errors import StorageError
from scisync.storage._durable import flush_contents
from scisync.storage._transfer import (
    COPY_CHUNK,
    NO_HARDLINK_ERRNOS,
    cancelled,
    confined_write,
    download_algorithms,
    outside_target,
    symlink_in_the_way,
    temp_name,
    verify_download,
)
from scisync.storage.base import DigestsCallback, DownloadJob, ProgressCallback

OsErrorWrapper = Callable[[OSError, str, str], StorageError]


def opened_path(fd: int, path: str) -> str:
    """The real path of the file or folder open at *fd* (opened as *path*).

    Read from ``/proc/self/fd``: what was opened, whatever symlinks led there.  Where
    that is missing, ``realpath`` of *path*, accepted only if it names the same device
    and inode as *fd* (a symlink swapped in between would not).
    """
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/self/fd/{fd}")
    real = os.path.realpath(path)
    opened, named = os.fstat(fd), os.stat(real)
    if (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino):
        raise StorageError(
            "refusing to use a file or folder that changed while it was opened (a symlink "
            "was swapped in)",
            where=path,
            hint="check who else writes this folder, then run the command again",
        )
    return real


@dataclass(slots=True)
class _Fetched:
    """A verified temporary waiting for the batch's flush."""

    index: int
    job: DownloadJob
    folder: str
    name: str
    tmp: str
    digests: dict[str, str]


class TargetFolders:
    """A batch's target folders: each checked and created once, then reached by descriptor."""

    def __init__(self, os_error: OsErrorWrapper) -> None:
        self._os_error = os_error
        self._ready: set[str] = set()
        self._roots: dict[Path, str] = {}
        self._lock = threading.Lock()

    def _root(self, within: Path) -> str:
        with self._lock:
            root = self._roots.get(within)
        if root is None:
            root = os.path.realpath(within)
            with self._lock:
                self._roots[within] = root
        return root

    def prepare(self, folder: str, within: Path | None) -> None:
        """Check *folder* (its path resolves inside *within*), then create it."""
        if folder in self._ready:
            return
        confined_write(Path(folder), within)  # before anything is created on the way
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise self._os_error(exc, "create folder", folder) from exc
        with self._lock:
            self._ready.add(folder)

    def open(self, folder: str, within: Path | None) -> int:
        """A descriptor of *folder*, whose real path is checked inside *within*."""
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise self._os_error(exc, "open folder", folder) from exc
        if within is None:
            return fd
        try:
            real, root = opened_path(fd, folder), self._root(within)
            if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
                raise outside_target(Path(folder), real, within)
        except BaseException:
            os.close(fd)
            raise
        return fd


class FetchedBatch:
    """The temporaries a batch wrote and verified; placed together after one flush."""

    def __init__(self, folders: TargetFolders, os_error: OsErrorWrapper) -> None:
        self._folders = folders
        self._os_error = os_error
        self._items: list[_Fetched] = []
        self._lock = threading.Lock()

    def add(self, item: _Fetched) -> None:
        with self._lock:
            self._items.append(item)

    def discard(self) -> None:
        """Remove the temporaries not placed (after a failure or an interruption)."""
        with self._lock:
            items, self._items = self._items, []
        for item in items:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(item.folder, item.tmp))

    def place(
        self, finished: Callable[[DownloadJob], None], report: DigestsCallback | None
    ) -> list[StorageError]:
        """Flush every temporary, link each into place, flush each folder; one error per
        file that could not be placed.  A failed flush raises and places nothing."""
        with self._lock:
            items = list(self._items)
        if not items:
            return []
        folders = sorted({item.folder for item in items})
        try:
            flush_contents([os.path.join(i.folder, i.tmp) for i in items], folders)
        except OSError as exc:
            raise self._os_error(exc, "flush files to disk", exc.filename or folders[0]) from exc
        by_folder: dict[str, list[_Fetched]] = {}
        for item in items:
            by_folder.setdefault(item.folder, []).append(item)
        errors: list[StorageError] = []
        for folder, group in by_folder.items():
            errors += self._place_folder(folder, group, finished, report)
        with self._lock:
            self._items = []  # placed, or removed by _place_at: nothing left to discard
        return errors

    def _place_folder(
        self,
        folder: str,
        group: Sequence[_Fetched],
        finished: Callable[[DownloadJob], None],
        report: DigestsCallback | None,
    ) -> list[StorageError]:
        errors: list[StorageError] = []
        try:
            fd = self._folders.open(folder, group[0].job.within)
        except StorageError as exc:
            for item in group:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, item.tmp))
            return [exc]
        try:
            for item in group:
                target = os.path.join(folder, item.name)
                try:
                    _place_at(fd, item.tmp, item.name, item.digests["blake3"], target)
                    if report is not None:
                        report(item.index, item.digests, os.lstat(item.name, dir_fd=fd))
                    finished(item.job)
                except StorageError as exc:
                    errors.append(exc)
                except OSError as exc:
                    errors.append(self._os_error(exc, "download file", target))
            with contextlib.suppress(OSError):
                os.fsync(fd)  # the new names (ignored where folders cannot be flushed)
        finally:
            os.close(fd)
        return errors


def _place_at(fd: int, tmp: str, name: str, blake3: str, where: str) -> bool:
    """Move *tmp* to *name* in the folder open at *fd*, never replacing a file; True if
    placed.  An identical file already there is kept; anything else is an error."""
    try:
        try:
            os.link(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except FileExistsError:
            _same_file_at(fd, name, blake3, where)
            return False
        except OSError as exc:
            if exc.errno not in NO_HARDLINK_ERRNOS:
                raise
            # No hard links here: look, then rename (a tiny window, docs/storage.md).
            try:
                os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
                return True
            _same_file_at(fd, name, blake3, where)
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=fd)


def _same_file_at(fd: int, name: str, blake3: str, where: str) -> None:
    """Nothing if *name* (in the folder open at *fd*) holds content of that blake3."""
    if stat_mod.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
        raise symlink_in_the_way(Path(where))
    hasher = StreamingHasher(["blake3"])
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    try:
        while data := os.read(source, COPY_CHUNK):
            hasher.update(data)
    finally:
        os.close(source)
    if hasher.hexdigests()["blake3"] != blake3:
        raise StorageError(
            "a different file already exists here",
            where=where,
            hint="scisync never overwrites a file that differs; move it away and re-run",
        )


def fetch(
    job: DownloadJob,
    index: int,
    source: int,
    folders: TargetFolders,
    batch: FetchedBatch,
    progress: ProgressCallback | None,
    abort: threading.Event,
) -> None:
    """Copy the open *source* to a temporary beside the job's target, verify it and hand
    it to *batch*.  Closes *source*.  The target folder was prepared by the caller."""
    folder, name = os.path.split(str(job.local))
    try:
        fd = folders.open(folder, job.within)
    except BaseException:
        os.close(source)
        raise
    tmp = temp_name(name)
    handed_over = False
    try:
        hasher = StreamingHasher(download_algorithms(job), size_hint=job.size)
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=fd)
        try:
            size = _copy(source, out, hasher, progress, abort, job.size)
        finally:
            os.close(out)
        digests = hasher.hexdigests()
        verify_download(job, digests, size)
        batch.add(_Fetched(index, job, folder, name, tmp, digests))
        handed_over = True
    finally:
        os.close(source)
        if not handed_over:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=fd)
        os.close(fd)


def _copy(
    source: int,
    sink: int,
    hasher: StreamingHasher,
    progress: ProgressCallback | None,
    abort: threading.Event,
    expected: int | None,
) -> int:
    """Copy until EOF, hashing every chunk; memory stays one chunk whatever the size.

    Reads ask for one byte more than the *expected* size (if known) until a read comes
    back full:
    ``os.read(fd, n)`` allocates *n* bytes first, and a 4 MiB chunk for a 16-byte file
    (twice, with the read that finds the end) is an mmap and munmap each, 50 MB of
    transient buffers on a pull of small files.  A file that grew gets whole chunks."""
    total = 0
    ask = COPY_CHUNK if expected is None else min(COPY_CHUNK, expected + 1)
    while True:
        if abort.is_set():
            raise cancelled()
        data = os.read(source, ask)
        if not data:
            return total
        if len(data) == ask:
            ask = COPY_CHUNK
        hasher.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(sink, view) :]
        total += len(data)
        if progress is not None:
            progress(len(data))
