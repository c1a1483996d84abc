"""Write a file so that readers see either the old bytes or the new ones, never a mix.

The new content goes to a temporary file in the same directory (same file system, so
``os.replace`` is atomic), is flushed to disk, replaces the target, and the directory
entry is flushed too, so a crash or power loss leaves one whole version behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, data: bytes) -> None:
    """Replace *path* with *data* atomically and durably; keeps an existing file's mode."""
    directory = path.parent
    tmp = directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    # 0o666 minus the umask, like an ordinary new file (a committed lockfile must not be 0600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write *data* atomically unless *path* already holds exactly these bytes.

    Returns whether the file was written.  Leaving an unchanged file alone keeps its
    mtime, so build tools and editors do not see a change that is not one.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomic(path, data)
    return True


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; some file systems refuse fsync on a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


class ReplaceIfChanged:
    """:func:`write_if_changed` for text produced a part at a time, never whole in memory.

    Each part is compared with the old file's bytes at the same place; nothing is written
    while they agree.  At the first difference a temporary file gets the old bytes that
    matched and every part from then on; :meth:`finish` replaces the target with it (as
    :func:`write_atomic`) and says whether it did.  On error, :meth:`abandon` leaves the
    target as it was and removes the temporary file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._matched = 0  # bytes of the old file the parts have matched so far
        self._tmp: Path | None = None
        self._out: BinaryIO | None = None
        try:
            self._old: BinaryIO | None = path.open("rb")
        except FileNotFoundError:
            self._old = None

    def append(self, part: bytes | memoryview, /) -> None:
        if self._out is None:
            if self._old is not None and self._old.read(len(part)) == part:
                self._matched += len(part)
                return
            self._start()
        assert self._out is not None
        self._out.write(part)

    def _start(self) -> None:
        self._tmp = self.path.parent / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        # 0o666 minus the umask, like an ordinary new file (a committed lockfile must not be 0600).
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._out = os.fdopen(fd, "wb", buffering=2**20)
        if self._old is not None:
            self._old.seek(0)
            left = self._matched
            while left:
                chunk = self._old.read(min(left, 2**20))
                if not chunk:
                    break
                self._out.write(chunk)
                left -= len(chunk)
            self._old.close()
            self._old = None

    def finish(self) -> bool:
        """Replace the target if the parts differ from it; whether it was written."""
        try:
            if self._out is None:
                if self._old is not None and not self._old.read(1):
                    self._old.close()
                    self._old = None
                    return False  # every byte the same, and no more of them
                self._start()
            assert self._out is not None and self._tmp is not None
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            with contextlib.suppress(FileNotFoundError):
                os.chmod(self._tmp, stat.S_IMODE(self.path.stat().st_mode))
            os.replace(self._tmp, self.path)
            self._tmp = None
        except BaseException:
            self.abandon()
            raise
        _fsync_directory(self.path.parent)
        return True

    def abandon(self) -> None:
        for handle in (self._old, self._out):
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        self._old = self._out = None
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None
