"""Turning dataset-relative file paths into local and remote paths, safely.

File paths come from SciCat (``origdatablocks``) or a lockfile, which another user may have
written: ``../../.bashrc`` or ``/etc/passwd`` must never become a download target, and a
symlink inside the target folder must not lead a download out of it.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from scisync._util.names import has_drive_prefix
from scisync.errors import StorageError
from scisync.storage.base import RemotePath


def check_relative(relative: str, *, where: str) -> tuple[str, ...]:
    """The parts of a dataset-relative POSIX path; StorageError if it could escape."""
    hint = "dataset file paths must be relative, use '/' and contain no '..' or empty parts"
    if not relative:
        raise StorageError("empty file path", where=where, hint=hint)
    if "\x00" in relative:
        raise StorageError(f"file path {relative!r} contains a NUL byte", where=where, hint=hint)
    if relative.startswith("/") or "\\" in relative or has_drive_prefix(relative):
        raise StorageError(f"file path {relative!r} is absolute", where=where, hint=hint)
    parts = tuple(relative.split("/"))
    for part in parts:
        if part in ("", ".", ".."):
            shown = part or "an empty part"
            raise StorageError(
                f"file path {relative!r} contains {shown!r}"
                if part
                else f"file path {relative!r} contains {shown}",
                where=where,
                hint=hint,
            )
    return parts


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def safe_join(target_dir: Path, relative: str) -> Path:
    """``target_dir / relative``, refusing anything that would land outside *target_dir*.

    Refuses ``..``, absolute paths, empty parts, and existing symlinks (in the folders on
    the way or the file itself) that resolve outside *target_dir*.
    """
    return SafeJoiner(target_dir).join(relative)


class SafeJoiner:
    """:func:`safe_join` for many paths under one target folder: each folder on the way
    is resolved once, not once per file (``realpath`` of every file's full path was a
    tenth of a small-file pull).  The file's own name is resolved only if it is a symlink.
    """

    def __init__(self, target_dir: Path) -> None:
        self.target_dir = target_dir
        self._root = os.path.realpath(target_dir)
        self._folders: dict[tuple[str, ...], str] = {}

    def join(self, relative: str) -> Path:
        parts = check_relative(relative, where=str(self.target_dir))
        candidate = self.target_dir.joinpath(*parts)
        folder = self._folders.get(parts[:-1])
        if folder is None:
            folder = os.path.realpath(self.target_dir.joinpath(*parts[:-1]))
            self._folders[parts[:-1]] = folder
        resolved = os.path.join(folder, parts[-1])
        if os.path.islink(resolved):
            resolved = os.path.realpath(resolved)
        if not _inside(resolved, self._root):
            raise StorageError(
                f"file path {relative!r} leads outside the target folder through a symlink "
                f"(to {resolved})",
                where=str(self.target_dir),
                hint="remove the symlink or choose another target folder",
            )
        return candidate


def remote_file_path(source_folder: RemotePath | str, relative: str) -> RemotePath:
    """The server path of a dataset file: SciCat's ``sourceFolder`` joined with its path."""
    folder = PurePosixPath(source_folder)
    if not folder.is_absolute():
        raise StorageError(
            f"source folder {str(folder)!r} is not an absolute path",
            where="sourceFolder",
            hint="a dataset's sourceFolder must be an absolute path on the file server",
        )
    if ".." in folder.parts:
        raise StorageError(
            f"source folder {str(folder)!r} contains '..'",
            where="sourceFolder",
            hint="write the source folder without '..'",
        )
    parts = check_relative(relative, where=str(folder))
    return folder.joinpath(*parts)


def relative_to_folder(path: RemotePath, folder: RemotePath) -> str:
    """The dataset-relative form of a server path below *folder* (inverse of the above)."""
    return path.relative_to(folder).as_posix()
