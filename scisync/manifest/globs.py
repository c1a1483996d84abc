"""Glob patterns written in manifests (files, downloads, the glob() helper): the checks
that refuse patterns which can never mean what the user wants, and the walker that
resolves them against local folders.

Patterns stay patterns in the typed model; desired/build.py and the glob() template
function resolve them with :func:`expand_glob`, which never walks into a symlinked folder
through ``**`` unless asked to, and then stops at a loop.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from pathlib import PurePosixPath


def glob_problem(pattern: str, *, allow_absolute: bool = False) -> str | None:
    """Why *pattern* is not a usable glob, or None when it is fine."""
    if not pattern.strip():
        return "empty glob pattern"
    if "\\" in pattern:
        return f"glob {pattern!r} contains '\\'; write paths with '/'"
    if not allow_absolute and pattern.startswith("/"):
        return f"glob {pattern!r} is absolute; globs are relative to their base folder"
    parts = PurePosixPath(pattern).parts
    if ".." in parts:
        return f"glob {pattern!r} climbs out of its base folder with '..'; change the base"
    for part in parts:
        if "**" in part and part != "**":
            return f"glob {pattern!r}: '**' must be a whole path component (like 'a/**/b')"
    depth = 0
    for char in pattern:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    if depth:
        return f"glob {pattern!r} has an unclosed '['"
    return None


class SymlinkLoop(Exception):
    """Following directory symlinks from a glob's base folder leads back to a folder above."""

    def __init__(self, link: str, target: str) -> None:
        super().__init__(f"{link} leads back to {target}")
        self.link = link
        self.target = target


class UnreadableFolder(Exception):
    """A folder a glob must look into cannot be listed (its OSError is the cause)."""

    def __init__(self, folder: str, error: OSError) -> None:
        super().__init__(f"{folder}: {error.strerror}")
        self.folder = folder
        self.error = error


_MAGIC = re.compile(r"[*?[]")


def _compile(pattern: str) -> list[re.Pattern[str] | str | None]:
    """One matcher per path component: None for ``**``, a literal name, or a regex."""
    parts: list[re.Pattern[str] | str | None] = []
    for part in pattern.split("/"):
        if part in ("", "."):
            continue
        if part == "**":
            if parts and parts[-1] is None:
                continue  # "**/**" means what "**" means
            parts.append(None)
        elif _MAGIC.search(part):
            parts.append(re.compile(fnmatch.translate(part)))
        else:
            parts.append(part)
    return parts


def expand_glob(
    base: str,
    pattern: str,
    *,
    follow_symlinks: bool = False,
    include_hidden: bool = True,
) -> list[str]:
    """Relative POSIX paths under *base* that *pattern* matches (``**``: any depth).

    Unlike :func:`glob.glob`, ``**`` does not descend into symlinks to folders unless
    *follow_symlinks*; when it does, a link back to a folder above it raises
    :class:`SymlinkLoop` instead of walking the loop 40 levels deep.  A name or wildcard
    component (a bounded depth) goes wherever a link leads, as in a shell.  A folder that
    cannot be listed raises :class:`UnreadableFolder` rather than silently selecting less.
    Folders as well as files are returned (callers keep the regular files).
    """
    parts = _compile(pattern)
    if not parts:
        return []
    try:
        root_id = _identity(base) if follow_symlinks else None
    except OSError:
        return []
    listings = _Listings(include_hidden)
    found: set[str] = set()
    # (folder on disk, its path relative to base, index into parts, folders above it)
    stack: list[tuple[str, str, int, tuple[tuple[int, int], ...]]] = [
        (base, "", 0, (root_id,) if root_id else ())
    ]
    visited: set[tuple[str, int]] = set()
    while stack:
        folder, relative, index, above = stack.pop()
        if (relative, index) in visited:
            continue
        visited.add((relative, index))
        part, last = parts[index], index == len(parts) - 1
        if part is None and not last:
            stack.append((folder, relative, index + 1, above))  # "**" as no folder at all
        prefix = f"{relative}/" if relative else ""
        for name, is_dir in listings.select(folder, part):
            if last:
                found.add(prefix + name)
                if part is not None:
                    continue
            path = f"{folder}/{name}"
            if not _enter(path, is_dir, follow_symlinks or part is not None):
                continue
            ancestors = above
            if follow_symlinks:
                identity = _identity(path)
                if identity in above:
                    raise SymlinkLoop(path, os.path.realpath(path))
                ancestors = (*above, identity)
            stack.append((path, prefix + name, index if part is None else index + 1, ancestors))
    if pattern.endswith("/"):  # as in a shell: folders only
        found = {path for path in found if os.path.isdir(os.path.join(base, path))}
    return sorted(found)


class _Listings:
    """Folder listings, each read once per expansion (``**/x`` visits a folder twice)."""

    def __init__(self, include_hidden: bool) -> None:
        self.include_hidden = include_hidden
        self.cache: dict[str, list[tuple[str, bool | None]]] = {}

    def select(
        self, folder: str, part: re.Pattern[str] | str | None
    ) -> list[tuple[str, bool | None]]:
        """(name, is a real folder; None for a symlink) of the entries *part* selects."""
        if isinstance(part, str):
            try:
                status = os.lstat(os.path.join(folder, part))
            except OSError:
                return []
            is_link = stat.S_ISLNK(status.st_mode)
            return [(part, None if is_link else stat.S_ISDIR(status.st_mode))]
        entries = self.cache.get(folder)
        if entries is None:
            entries = self.cache[folder] = self._read(folder)
        if part is None:
            return entries
        match = part.match
        return [entry for entry in entries if match(entry[0]) is not None]

    def _read(self, folder: str) -> list[tuple[str, bool | None]]:
        try:
            with os.scandir(folder) as listing:
                return [
                    (
                        entry.name,
                        None if entry.is_symlink() else entry.is_dir(follow_symlinks=False),
                    )
                    for entry in listing
                    if self.include_hidden or not entry.name.startswith(".")
                ]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as error:
            raise UnreadableFolder(folder, error) from None


def _kind(entry: os.DirEntry[str]) -> bool | None:
    """Whether *entry* is a real folder; None when it is a symlink (to anything)."""
    return None if entry.is_symlink() else entry.is_dir(follow_symlinks=False)


def _enter(path: str, is_dir: bool | None, follow_symlinks: bool) -> bool:
    if is_dir is not None:
        return is_dir
    return follow_symlinks and os.path.isdir(path)  # a symlink: a folder behind it?


def _identity(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_dev, status.st_ino
