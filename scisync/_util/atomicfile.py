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
