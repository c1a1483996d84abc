"""Local stamps: a cheap digest of everything on this machine a dataset's plan reads.

A dataset's stamp covers its manifest entry and the ``stat`` (size, mtime, ctime, inode,
device) of every entry below the folders its file patterns can reach, and of its
attachment images.  It is taken with one ``os.scandir`` walk: no globbing, no hashing,
no per-file objects.  Any edit to a file (even one that keeps its size and puts its
mtime back: the ctime still moves), any file added, removed or renamed, and any change
to the entry moves the stamp.  Unrelated files beside the selected ones move it too:
the stamp may change when nothing that matters did (a full plan follows), never the
other way round.

A stamp also carries when its walk began and the latest mtime or ctime it saw: a stamp
recorded while a file was changing may be *racy* (:mod:`scisync._util.racy`), and
:mod:`scisync.observe.settled` lets only a stamp that is not vouch for a dataset.

Where the walk cannot see everything a glob could reach (a symlink to a folder, a
folder it cannot list, a missing base) there is no stamp (``None``): that dataset is
always planned in full.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import signal
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from scisync._util import racy
from scisync.manifest.model import DatasetSpec, FileSelection

_MAGIC = frozenset("*?[")
_NAME = attrgetter("name")


class _Unseen(Exception):
    """Part of what the dataset's globs may select is out of the walk's sight."""


@dataclass(frozen=True)
class LocalStamp:
    """A dataset's local stamp: *digest* of the rows, *walked_ns* the clock
    (:func:`scisync._util.racy.now_ns`) before the walk's first stat, *newest_ns* the
    latest mtime or ctime among the entries walked (0 for none)."""

    digest: str
    walked_ns: int
    newest_ns: int

    def as_json(self) -> list[object]:
        return [self.digest, self.walked_ns, self.newest_ns]

    @classmethod
    def from_json(cls, value: object) -> LocalStamp | None:
        """The stamp a forked walker sent, or None for anything else."""
        if not isinstance(value, list) or len(value) != 3:
            return None
        digest, walked, newest = value
        if not isinstance(digest, str) or not all(
            type(number) is int for number in (walked, newest)
        ):
            return None
        return cls(digest, walked, newest)


def local_stamp(spec: DatasetSpec) -> LocalStamp | None:
    """The dataset's local stamp, or None when it cannot be taken (see the module doc)."""
    walked = racy.now_ns()
    rows: list[str] = [repr(spec)]
    newest = [0]
    try:
        for selection in spec.files:
            follow = selection.follow_symlinks
            for folder, depth in _walk_roots(selection):
                _walk_root(folder, depth, follow, rows, newest)
        for attachment in spec.attachments:
            image = os.fspath(attachment.image)
            rows.append(_row(image, os.stat(image), newest))
    except (OSError, _Unseen):
        return None
    # One digest update of all rows: per-row updates cost more than the rows themselves.
    digest = hashlib.sha256("".join(rows).encode(errors="surrogateescape")).hexdigest()
    return LocalStamp(digest, walked, newest[0])


def local_stamps(specs: Sequence[DatasetSpec]) -> dict[str, LocalStamp | None]:
    """``local_stamp`` of every dataset, keyed by dataset key, on the calling thread.

    Threads were tried: a ``stat`` is too short for them to overlap anything, and four
    threads contending for the GIL around each one made the walk of 100,000 files slower
    (quiet machine, side by side, 100,000 files: 1.15-1.23 s on four, 0.57-0.65 s on one)."""
    return {spec.key: local_stamp(spec) for spec in specs}


FORK_MIN_DATASETS = 200
"""Fewer datasets are walked in this process: a fork costs more than their walk."""
CHILD_GRACE = 60.0
"""Seconds a forked walker may stay silent beyond ten times this process's own walk."""


class StampWalk:
    """The local stamps of many datasets, most walked by a forked child process
    while this one goes on (reading the lockfile, decoding SciCat's answer): a ``stat``
    per file is the largest share of a no-op plan of a million files, and a second
    process is the one way Python spreads it over two cores.  The child only walks,
    hashes and writes its stamps to a pipe as JSON; if it fails in any way, this process
    walks its half itself, so the stamps are always the ones :func:`local_stamps` gives.

    It forks only while this process runs a single thread (:func:`_fork_is_safe`);
    otherwise this process walks everything, as :func:`local_stamps` does."""

    def __init__(self, specs: Sequence[DatasetSpec]) -> None:
        self._specs = list(specs)
        self._child: tuple[int, int] | None = None  # (pid, read end of the pipe)
        self._split = len(self._specs)
        if len(self._specs) >= FORK_MIN_DATASETS and _fork_is_safe() and _cores() > 1:
            # The child walks two thirds: this process also reads the lockfile and decodes
            # SciCat's answer meanwhile (a million files, py-spy: that evens them out).
            self._split = len(self._specs) // 3
            self._child = _fork_walk(self._specs[self._split :])

    def __enter__(self) -> StampWalk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """A walk whose result was not asked for (the plan failed first): its child is
        stopped and reaped."""
        if self._child is not None:
            pid, read_end = self._child
            self._child = None
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
            os.close(read_end)

    def result(self) -> dict[str, LocalStamp | None]:
        """Every dataset's stamp (this process's share walked now)."""
        started = time.monotonic()
        stamps = local_stamps(self._specs[: self._split])
        rest = self._specs[self._split :]
        # A child still silent long after this process walked its share is stuck (a lock
        # some other thread held at the fork): it is stopped and its share walked here.
        deadline = time.monotonic() + CHILD_GRACE + 10 * (time.monotonic() - started)
        child, self._child = self._child, None
        walked = _child_result(*child, deadline) if child is not None else None
        if walked is None or set(walked) != {spec.key for spec in rest}:
            walked = local_stamps(rest)
        stamps.update(walked)
        return {spec.key: stamps[spec.key] for spec in self._specs}


def _fork_is_safe() -> bool:
    """Whether a forked child can run Python safely: ``fork`` copies only the calling
    thread, so a lock another thread held at that moment (the allocator's, OpenSSL's,
    a logging handler's; an embedded sandbox or an SSH transport runs threads) stays held
    in the child forever.  With one thread there is no such lock; the deadline in
    :meth:`StampWalk.result` remains for what this cannot see (threads of C libraries)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _fork_walk(specs: Sequence[DatasetSpec]) -> tuple[int, int] | None:
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: walk, write, leave without running any parent cleanup
        status = 1
        try:
            os.close(read_end)
            walked = local_stamps(specs)
            data = json.dumps(
                {key: None if stamp is None else stamp.as_json() for key, stamp in walked.items()}
            ).encode()
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _child_result(pid: int, read_end: int, deadline: float) -> dict[str, LocalStamp | None] | None:
    """The child's stamps, or None when it failed or missed *deadline* (a monotonic time;
    then it is killed and the caller walks its share itself)."""
    chunks: list[bytes] = []
    with os.fdopen(read_end, "rb", buffering=0) as source:
        while True:
            ready, _, _ = select.select([source], [], [], max(0.0, deadline - time.monotonic()))
            chunk = source.read(1 << 20) if ready else None
            if not chunk:
                break
            chunks.append(chunk)
    if chunk is None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if chunk is None:
        return None
    data = b"".join(chunks)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        found = json.loads(data)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    stamps: dict[str, LocalStamp | None] = {}
    for key, value in found.items():
        stamp = None if value is None else LocalStamp.from_json(value)
        if isinstance(key, str) and (value is None or stamp is not None):
            stamps[key] = stamp
    return stamps


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


def _walk_root(
    folder: str, depth: int | None, follow: bool, rows: list[str], newest: list[int]
) -> None:
    if not os.path.lexists(folder):
        rows.append(f"A{folder}\n")  # nothing there for the pattern to match (yet)
        return
    _walk(folder, depth, follow, rows, newest)


def _walk(folder: str, depth: int | None, follow: bool, rows: list[str], newest: list[int]) -> None:
    """One row per entry below *folder*, *depth* levels deep (None: all), in name order;
    ``newest[0]`` is raised to the latest mtime or ctime seen.

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
            add("L" + _row(entry.name, target, newest))
            continue
        status = entry.stat(follow_symlinks=False)
        add(_row(entry.name, status, newest))
        if (depth is None or depth > 1) and stat.S_ISDIR(status.st_mode):
            _walk(entry.path, None if depth is None else depth - 1, follow, rows, newest)


def _row(name: str, status: os.stat_result, newest: list[int]) -> str:
    newest[0] = max(newest[0], status.st_mtime_ns, status.st_ctime_ns)
    return (
        f"{name}\0{status.st_mode}\0{status.st_size}\0{status.st_mtime_ns}\0"
        f"{status.st_ctime_ns}\0{status.st_ino}\0{status.st_dev}\n"
    )
