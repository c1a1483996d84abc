"""Local stamps: a cheap digest of everything on this machine a dataset's plan reads.

A dataset's stamp covers its manifest entry and the ``stat`` (size, mtime, ctime, inode,
device) of every entry below the folders its file patterns can reach, and of its
attachment images.  It is taken with one ``os.scandir`` walk: no globbing, no hashing,
no per-file objects.  Any edit to a file (even one that keeps its size and puts its
mtime back: the ctime still moves), any file added, removed or renamed, and any change
to the entry moves the stamp.  Unrelated files beside the selected ones move it too:
the stamp may change when nothing that matters did (a full plan follows), never the
other way round.

Where the walk cannot see everything a glob could reach (a symlink to a folder, a
folder it cannot list, a missing base) there is no stamp (``None``): that dataset is
always planned in full.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator

from scisync.manifest.model import DatasetSpec, FileSelection

_MAGIC = frozenset("*?[")


class _Unseen(Exception):
    """Part of what the dataset's globs may select is out of the walk's sight."""


def local_stamp(spec: DatasetSpec) -> str | None:
    """The dataset's local stamp, or None when it cannot be taken (see the module doc)."""
    digest = hashlib.sha256(repr(spec).encode())
    try:
        for selection in spec.files:
            follow = selection.follow_symlinks
            for folder, depth in _walk_roots(selection):
                for row in _walk_root(folder, depth, follow):
                    digest.update(row.encode(errors="surrogateescape"))
        for attachment in spec.attachments:
            digest.update(_row(os.fspath(attachment.image), os.stat(attachment.image)).encode())
    except (OSError, _Unseen):
        return None
    return digest.hexdigest()


def _walk_roots(selection: FileSelection) -> list[tuple[str, int | None]]:
    """(folder, depth) to walk for each include pattern: the pattern's literal leading
    folders joined to the base, and how many levels below it the pattern reaches
    (None: any depth, for ``**``).  Exclude patterns only select less: not walked."""
    base = os.fspath(selection.base)
    if not os.path.isdir(base):
        raise _Unseen(base)
    roots: dict[str, int | None] = {}
    for pattern in selection.include:
        parts = [part for part in pattern.split("/") if part not in ("", ".")]
        literal = 0
        while literal < len(parts) - 1 and not _MAGIC.intersection(parts[literal]):
            literal += 1
        folder = os.path.join(base, *parts[:literal])
        rest = parts[literal:]
        depth = None if "**" in rest else len(rest)
        if folder in roots:
            old = roots[folder]
            depth = None if old is None or depth is None else max(old, depth)
        roots[folder] = depth
    return sorted(roots.items())


def _walk_root(folder: str, depth: int | None, follow: bool) -> Iterator[str]:
    if not os.path.lexists(folder):
        yield f"A{folder}\n"  # nothing there for the pattern to match (yet)
        return
    yield from _walk(folder, depth, follow)


def _walk(folder: str, depth: int | None, follow: bool) -> Iterator[str]:
    """One row per entry below *folder*, *depth* levels deep (None: all), in name order.

    A symlink to a folder that a glob would walk into (a bounded component goes wherever
    a link leads; ``**`` only with ``follow_symlinks``) is out of sight: no stamp."""
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    yield f"D{folder}\n"
    for entry in entries:
        if entry.is_symlink():
            try:
                target = os.stat(entry.path)
            except OSError:
                yield f"L{entry.name}\0dangling\n"
                continue
            descends = follow if depth is None else depth > 1
            if stat.S_ISDIR(target.st_mode) and descends:
                raise _Unseen(entry.path)
            yield "L" + _row(entry.name, target)
            continue
        status = entry.stat(follow_symlinks=False)
        yield _row(entry.name, status)
        if stat.S_ISDIR(status.st_mode) and (depth is None or depth > 1):
            below = None if depth is None else depth - 1
            yield from _walk(entry.path, below, follow)


def _row(name: str, status: os.stat_result) -> str:
    return (
        f"{name}\0{status.st_mode}\0{status.st_size}\0{status.st_mtime_ns}\0"
        f"{status.st_ctime_ns}\0{status.st_ino}\0{status.st_dev}\n"
    )
