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
from collections.abc import Sequence
from operator import attrgetter

from scisync.manifest.model import DatasetSpec, FileSelection

_MAGIC = frozenset("*?[")
_NAME = attrgetter("name")


class _Unseen(Exception):
    """Part of what the dataset's globs may select is out of the walk's sight."""


def local_stamp(spec: DatasetSpec) -> str | None:
    """The dataset's local stamp, or None when it cannot be taken (see the module doc)."""
    rows: list[str] = [repr(spec)]
    try:
        for selection in spec.files:
            follow = selection.follow_symlinks
            for folder, depth in _walk_roots(selection):
                _walk_root(folder, depth, follow, rows)
        for attachment in spec.attachments:
            image = os.fspath(attachment.image)
            rows.append(_row(image, os.stat(image)))
    except (OSError, _Unseen):
        return None
    # One digest update of all rows: per-row updates cost more than the rows themselves.
    return hashlib.sha256("".join(rows).encode(errors="surrogateescape")).hexdigest()


def local_stamps(specs: Sequence[DatasetSpec]) -> dict[str, str | None]:
    """``local_stamp`` of every dataset, keyed by dataset key, on the calling thread.

    Threads were tried: a ``stat`` is too short for them to overlap anything, and four
    threads contending for the GIL around each one made the walk of 100,000 files slower
    (quiet machine, side by side, 100,000 files: 1.15-1.23 s on four, 0.57-0.65 s on one)."""
    return {spec.key: local_stamp(spec) for spec in specs}


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


def _walk_root(folder: str, depth: int | None, follow: bool, rows: list[str]) -> None:
    if not os.path.lexists(folder):
        rows.append(f"A{folder}\n")  # nothing there for the pattern to match (yet)
        return
    _walk(folder, depth, follow, rows)


def _walk(folder: str, depth: int | None, follow: bool, rows: list[str]) -> None:
    """One row per entry below *folder*, *depth* levels deep (None: all), in name order.

    A symlink to a folder that a glob would walk into (a bounded component goes wherever
    a link leads; ``**`` only with ``follow_symlinks``) is out of sight: no stamp."""
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=_NAME)
    rows.append(f"D{folder}\n")
    add = rows.append
    for entry in entries:
        if entry.is_symlink():
            try:
                target = os.stat(entry.path)
            except OSError:
                add(f"L{entry.name}\0dangling\n")
                continue
            descends = follow if depth is None else depth > 1
            if stat.S_ISDIR(target.st_mode) and descends:
                raise _Unseen(entry.path)
            add("L" + _row(entry.name, target))
            continue
        status = entry.stat(follow_symlinks=False)
        add(_row(entry.name, status))
        if (depth is None or depth > 1) and stat.S_ISDIR(status.st_mode):
            _walk(entry.path, None if depth is None else depth - 1, follow, rows)


def _row(name: str, status: os.stat_result) -> str:
    return (
        f"{name}\0{status.st_mode}\0{status.st_size}\0{status.st_mtime_ns}\0"
        f"{status.st_ctime_ns}\0{status.st_ino}\0{status.st_dev}\n"
    )
