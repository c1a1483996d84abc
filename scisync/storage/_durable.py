"""Making a batch of placed files durable at once (local storage; see docs/storage.md).

A small file's own ``fsync`` costs far more than writing it (a journal commit each), so
local uploads link every file of a batch into place unflushed, each keeping its
temporary name as a second hard link, then flush the whole batch here: one ``syncfs`` per
file system (``fsync`` of every file where ``syncfs`` is missing), then the folders, and
only then drop the temporaries.  A temporary that shares its inode with the placed name
therefore marks a file whose content may not have reached the disk; the next upload of
that name re-verifies it (:func:`unconfirmed`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from scisync.storage._transfer import fsync_dir


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs(fd)`` (Linux), or None where the C library has none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError:
        return None
    function = getattr(libc, "syncfs", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def flush_files(files: Iterable[str], folders: Iterable[str]) -> None:
    """Make the content and names of *files* (placed in *folders*) durable.

    ``syncfs`` once per file system the folders live on; where it is unavailable, an
    ``fsync`` of every file.  Then one ``fsync`` per folder for the names (a no-op after
    ``syncfs`` on a journaling file system, needed on others).  A flush failure (EIO: the
    disk refused the data) raises :class:`OSError`: the batch must not be reported done.
    """
    folders = sorted(set(folders))
    flush_contents(files, folders)
    for folder in folders:
        fsync_dir(Path(folder))


def flush_contents(files: Iterable[str], folders: Iterable[str]) -> None:
    """Make the content of *files* (in *folders*) durable, not yet their names: one
    ``syncfs`` per file system the folders live on, or an ``fsync`` of every file."""
    contents = list(files)
    syncfs = _syncfs()
    if not contents:
        pass  # only names are pending (hard links of local files): the folders suffice
    elif syncfs is None:
        for file in contents:
            _fsync_path(file)
    else:
        devices: set[int] = set()
        for folder in folders:
            fd = os.open(folder, os.O_RDONLY)
            try:
                device = os.fstat(fd).st_dev
                if device not in devices:
                    devices.add(device)
                    _group(device).sync(fd, syncfs, folder)
            finally:
                os.close(fd)


class _SyncGroup:
    """One file system's ``syncfs`` calls, shared by the batches that want one at once.

    Datasets upload in parallel and each ends with a flush; a ``syncfs`` that starts after
    a batch asked for it covers that batch's writes, so batches waiting together share one
    (a group commit, as the journal's fsyncs do).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the counters
        self._sync_lock = threading.Lock()  # one syncfs at a time
        self._asked = 0  # requests so far
        self._covered = 0  # requests a finished syncfs has covered

    def sync(self, fd: int, syncfs: Callable[[int], int], where: str) -> None:
        with self._lock:
            self._asked += 1
            mine = self._asked
        with self._sync_lock:
            if self._covered >= mine:
                return  # a syncfs that started after this request has finished
            with self._lock:
                covering = self._asked
            if syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), where)
            self._covered = covering


_groups: dict[int, _SyncGroup] = {}
_groups_lock = threading.Lock()


def _group(device: int) -> _SyncGroup:
    with _groups_lock:
        return _groups.setdefault(device, _SyncGroup())


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unconfirmed(target: Path, temporary: Path) -> bool:
    """True if *temporary* is a second link to *target*: placed, durability unconfirmed."""
    try:
        placed, marker = target.lstat(), temporary.lstat()
    except FileNotFoundError:
        return False
    return (placed.st_dev, placed.st_ino) == (marker.st_dev, marker.st_ino)


class PendingBatch:
    """The files a batch placed unflushed (with their temporaries) and the folders it wrote.

    :meth:`flush` runs once the batch ends, before ``upload``/``download`` return, so the
    journal's "done" and the SciCat registration that follow never point at a file a
    power cut could lose or shorten.
    """

    def __init__(self) -> None:
        # Strings, not Paths: a batch holds one entry per file, by the hundred thousand.
        self._placed: list[tuple[str, str]] = []  # (target, its temporary link)
        self._folders: set[str] = set()
        self._lock = threading.Lock()

    def add_folder(self, folder: str) -> None:
        """A name placed with its content already flushed: only the folder is pending."""
        with self._lock:
            self._folders.add(folder)

    def add_unflushed(self, target: str, temporary: str) -> None:
        with self._lock:
            self._placed.append((target, temporary))
            self._folders.add(os.path.dirname(target))

    def flush(self) -> None:
        """Flush everything placed, then drop the temporaries (the "unconfirmed" marks)."""
        with self._lock:
            placed, self._placed = self._placed, []
            folders, self._folders = self._folders, set()
        if not placed and not folders:
            return
        flush_files((target for target, _ in placed), folders)
        for _, temporary in placed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
