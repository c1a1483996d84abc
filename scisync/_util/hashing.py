"""File checksums: one read feeds every algorithm, and a cache skips unchanged files.

Local files are hashed with blake3 (fast, multithreaded) plus, when SciCat or a lockfile
records another algorithm, that one too, from the same read.  :class:`HashCache` remembers
digests by (size, mtime_ns, ctime_ns, inode) so an unchanged file is never read twice, which is what
makes a no-op ``scisync plan`` cheap on a large dataset; a file changed too shortly before
it was hashed is read again (:mod:`scisync._util.racy`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import blake3 as _blake3

from scisync._util import racy
from scisync.errors import StorageError, os_error_hint

SUPPORTED_ALGORITHMS = ("blake3", "sha256", "sha1", "md5", "blake2b")
"""Normalised names of the algorithms scisync can compute."""

CHUNK_SIZE = 8 * 2**20
"""Bytes per read: large enough that blake3's threads have work and syscalls are rare."""

# Below this size a file is hashed with one thread: spawning helpers costs more than it saves.
_MULTITHREAD_THRESHOLD = 4 * 2**20

_HASH_WINDOW = 1024
"""Files handed to the hashing threads at a time (bounds the futures alive at once)."""

_THREADED_FROM = 256 * 2**10
"""Files this large or larger are hashed on the worker threads; smaller ones on the
calling thread.  Reading and hashing a large file releases the GIL for long stretches,
so threads overlap them; a small file is a few short system calls, and four threads
fighting for the GIL around each one made 20,000 files of 16 B take 2.0 s instead of
0.5 s on one thread (bench/bench_hash.py --small)."""

_SAVE_AFTER = 10_000
"""Files hashed between two commits of :class:`CachedHasher`'s cache during a run."""

_ALIASES = {"blake2b512": "blake2b", "sha2256": "sha256"}


@functools.cache  # called per file on the no-op plan path; the set of names is tiny
def normalise_algorithm(name: str) -> str:
    """``"SHA-256"`` -> ``"sha256"``; raise :class:`StorageError` for unknown algorithms."""
    key = name.strip().lower().replace("-", "").replace("_", "")
    key = _ALIASES.get(key, key)
    if key not in SUPPORTED_ALGORITHMS:
        raise StorageError(
            f"unsupported checksum algorithm {name!r}",
            where="checksum",
            hint=f"use one of: {', '.join(SUPPORTED_ALGORITHMS)}",
        )
    return key


class Hasher(Protocol):
    """The part of hashlib's and blake3's interface that scisync uses."""

    def update(self, data: bytes | bytearray | memoryview, /) -> object: ...

    def hexdigest(self) -> str: ...


def new_hasher(algorithm: str, *, size_hint: int | None = None) -> Hasher:
    """A fresh hasher for a (normalised or not) algorithm name.

    blake3 uses its own worker threads when *size_hint* says the input is large.
    """
    name = normalise_algorithm(algorithm)
    if name == "blake3":
        if size_hint is not None and size_hint >= _MULTITHREAD_THRESHOLD:
            return _blake3.blake3(max_threads=_blake3.blake3.AUTO)
        return _blake3.blake3()
    return hashlib.new(name)


class StreamingHasher:
    """Feeds every chunk of a stream to several hashers, e.g. during a transfer.

    Used by uploads and downloads so that the bytes are verified as they pass through,
    without reading the file a second time.
    """

    def __init__(self, algorithms: Iterable[str], *, size_hint: int | None = None) -> None:
        names = dict.fromkeys(normalise_algorithm(a) for a in algorithms)
        if not names:
            raise ValueError("StreamingHasher needs at least one algorithm")
        self._hashers = {name: new_hasher(name, size_hint=size_hint) for name in names}
        self.bytes_seen = 0

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self._hashers)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        for hasher in self._hashers.values():
            hasher.update(data)
        self.bytes_seen += len(data)

    def update_mmap(self, path: Path) -> None:
        """Hash a whole file through mmap (blake3 only: its threads then share the work)."""
        if self.algorithms != ("blake3",):
            raise ValueError("update_mmap is only for a blake3-only hasher")
        hasher: Any = self._hashers["blake3"]
        hasher.update_mmap(str(path))
        self.bytes_seen += path.stat().st_size

    def hexdigests(self) -> dict[str, str]:
        return {name: hasher.hexdigest() for name, hasher in self._hashers.items()}


def hash_file(path: Path, algorithms: Sequence[str]) -> dict[str, str]:
    """Digests of *path* for every algorithm, reading the file once."""
    try:
        size = path.stat().st_size
        hasher = StreamingHasher(algorithms, size_hint=size)
        if hasher.algorithms == ("blake3",) and size >= _MULTITHREAD_THRESHOLD:
            # mmap lets blake3 hash the whole file with all cores and no copies.
            hasher.update_mmap(path)
            return hasher.hexdigests()
        buffer = bytearray(min(CHUNK_SIZE, max(size, 1)))
        view = memoryview(buffer)
        with path.open("rb", buffering=0) as stream:
            while count := stream.readinto(buffer):
                hasher.update(view[:count])
        return hasher.hexdigests()
    except OSError as exc:
        raise unreadable_to_hash(exc, path) from exc


_SIGNED = 2**63


def _column_int(value: int) -> int:
    """An int as SQLite can hold it (64-bit signed): an inode or a time past 2**63 wraps,
    the same way on store and on lookup."""
    return value - 2 * _SIGNED if value >= _SIGNED else value


def _stat_stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if stamp[3] < _SIGNED and stamp[1] < _SIGNED and stamp[2] < _SIGNED:
        return stamp  # the usual case, checked without a call per value
    size, mtime_ns, ctime_ns, inode = map(_column_int, stamp)
    return (size, mtime_ns, ctime_ns, inode)


def _column_time(value: int) -> int:
    """A time as SQLite can hold it: past 2**63 ns (year 2262) it saturates, so a file
    stamped that far in the future stays racy instead of wrapping into the past."""
    return min(value, _SIGNED - 1)


_LOOKUP_BATCH = 500
"""Paths per SELECT of :meth:`HashCache.lookup_many` (SQLite's limit on bound values is
999 in old builds)."""

_COLUMNS = ", ".join(SUPPORTED_ALGORITHMS)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL, newest_ns INTEGER NOT NULL,
    {", ".join(f"{name} TEXT" for name in SUPPORTED_ALGORITHMS)}
) WITHOUT ROWID
"""
# A row hashed again with the same stamp keeps the digests it had and gains the new ones,
# if the rule still lets the old row vouch (`vouches`, the rule registered as an SQL
# function): the file cannot have changed since.  A racy row's digests may be of content
# that is gone, and a row whose stamp moved keeps only the new ones.
_SAME_STAMP = (
    "(size, mtime_ns, ctime_ns, inode) = "
    "(excluded.size, excluded.mtime_ns, excluded.ctime_ns, excluded.inode) "
    f"AND vouches(newest_ns, recorded_ns, ?{8 + len(SUPPORTED_ALGORITHMS)})"
)
_PLACES = ", ".join(f"?{number}" for number in range(1, 8 + len(SUPPORTED_ALGORITHMS)))
_UPSERT = (
    f"INSERT INTO files (path, size, mtime_ns, ctime_ns, inode, recorded_ns, newest_ns, "
    f"{_COLUMNS}) VALUES ({_PLACES}) "
    "ON CONFLICT (path) DO UPDATE SET "
    + ", ".join(
        f"{name} = CASE WHEN {_SAME_STAMP} THEN coalesce(excluded.{name}, {name}) "
        f"ELSE excluded.{name} END"
        for name in SUPPORTED_ALGORITHMS
    )
    + ", size = excluded.size, mtime_ns = excluded.mtime_ns, "
    "ctime_ns = excluded.ctime_ns, inode = excluded.inode, "
    "recorded_ns = excluded.recorded_ns, newest_ns = excluded.newest_ns"
)

Row = tuple[Any, ...]
"""(path, size, mtime_ns, ctime_ns, inode, recorded_ns, newest_ns, *SUPPORTED_ALGORITHMS)"""
_RECORDED = 5
_FIRST_DIGEST = 7

_DIGEST_SHAPES = {
    name: re.compile(f"[0-9a-f]{{{length}}}")
    for name, length in (
        ("blake3", 64),
        ("sha256", 64),
        ("sha1", 40),
        ("md5", 32),
        ("blake2b", 128),
    )
}
"""What a stored digest must look like to be handed out (a row edited by hand is a miss)."""


class HashCache:
    """Digests of local files in an SQLite file, valid while a file looks unchanged.

    An entry is keyed by absolute path and trusted while the file's size, mtime and ctime
    (ns) and inode are the same as when it was hashed, and only if the file had not changed
    for a margin before its hash began (:mod:`scisync._util.racy`; each row keeps when it
    was recorded and the latest change it accounts for).  The entries stay on disk and are
    looked up a batch at a time: an in-memory dict of them cost 400-700 B per file, the
    largest share of a million-file apply's memory (issue 13).  Thread-safe.  New entries
    are written inside one transaction; :meth:`save` commits it (SQLite's journal makes
    the commit atomic: a killed run loses the uncommitted entries, never the file).  A
    cache SQLite cannot read, or one of another version, is started afresh, and a cache
    that fails while in use is dropped for the rest of the run: either only costs
    re-hashing, it never stops a run.
    """

    VERSION = 3
    """1 was a JSON document (hashcache.json), read whole into memory; 2 had no recorded
    times (its rows may be racy: such a cache is started afresh, one re-read of each file)."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._lock = threading.Lock()
        self._dirty = False
        self._db: sqlite3.Connection | None = self._open()

    def _open(self) -> sqlite3.Connection | None:
        for attempt in range(2):
            try:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.file, timeout=5.0, check_same_thread=False)
            except (OSError, sqlite3.Error):
                return None
            try:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
                if version != self.VERSION and tables:
                    raise sqlite3.DatabaseError("another version")
                db.create_function("vouches", 3, _sql_vouches, deterministic=True)
                db.execute("PRAGMA synchronous = NORMAL")
                db.execute(_SCHEMA)
                db.execute(f"PRAGMA user_version = {self.VERSION}")
                db.commit()
                return db
            except sqlite3.Error:
                db.close()
                if attempt:
                    return None
                # Not a cache this version can read (damaged, another format): start afresh.
                try:
                    self.file.unlink(missing_ok=True)
                except OSError:
                    return None
        return None

    def _failed(self) -> None:
        """The cache broke while in use (disk full, locked by another run): go on without."""
        db, self._db = self._db, None
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def _rows(self, keys: Sequence[str]) -> dict[str, Row]:
        """The stored rows of *keys* (called with the lock held)."""
        found: dict[str, Row] = {}
        if self._db is None:
            return found
        try:
            for start in range(0, len(keys), _LOOKUP_BATCH):
                chunk = keys[start : start + _LOOKUP_BATCH]
                query = (
                    "SELECT path, size, mtime_ns, ctime_ns, inode, recorded_ns, newest_ns, "
                    f"{_COLUMNS} FROM files "
                    f"WHERE path IN ({', '.join('?' * len(chunk))})"
                )
                for row in self._db.execute(query, chunk):
                    found[row[0]] = row
        except sqlite3.Error:
            self._failed()
            return {}
        return found

    def lookup(
        self, path: Path | str, st: os.stat_result, algorithms: Sequence[str]
    ) -> dict[str, str] | None:
        """The cached digests of every requested algorithm, or None if the file must be read."""
        return self.lookup_many([path], [st], algorithms)[0]

    def lookup_many(
        self,
        paths: Sequence[Path | str],
        stats: Sequence[os.stat_result],
        algorithms: Sequence[str],
    ) -> list[dict[str, str] | None]:
        """:meth:`lookup` for many files at once: one lock, a few hundred paths per query."""
        return [
            None if row is None else digests
            for row, digests in self._vouched(paths, stats, algorithms)
        ]

    def _vouched(
        self,
        paths: Sequence[Path | str],
        stats: Sequence[os.stat_result],
        algorithms: Sequence[str],
    ) -> list[tuple[Row | None, dict[str, str]]]:
        """Each file's row and its digests of *algorithms*, or (None, {}) when the row
        cannot vouch for the file: none, another stamp, racy (:mod:`scisync._util.racy`),
        or a digest missing or malformed."""
        wanted = [
            (name, _FIRST_DIGEST + SUPPORTED_ALGORITHMS.index(name))
            for name in dict.fromkeys(normalise_algorithm(a) for a in algorithms)
        ]
        keys = [_absolute(path) for path in paths]
        with self._lock:
            rows = self._rows(list(dict.fromkeys(keys)))
        now = racy.now_ns()
        found: list[tuple[Row | None, dict[str, str]]] = []
        for key, st in zip(keys, stats, strict=True):
            row = rows.get(key)
            if row is None or row[1:5] != _stat_stamp(st) or not _row_vouches(row, now):
                found.append((None, {}))
                continue
            digests = {name: row[column] for name, column in wanted}
            usable = all(
                isinstance(value, str) and _DIGEST_SHAPES[name].fullmatch(value)
                for name, value in digests.items()
            )
            found.append((row, digests) if usable else (None, {}))
        return found

    def voucher(
        self, paths: Sequence[Path | str], blake3s: Sequence[str]
    ) -> Callable[[int, os.stat_result], bool]:
        """See :meth:`CachedHasher.voucher`."""
        keys = [_absolute(path) for path in paths]
        with self._lock:
            rows = self._rows(list(dict.fromkeys(keys)))
        column = _FIRST_DIGEST + SUPPORTED_ALGORITHMS.index("blake3")
        known = [rows.get(key) for key in keys]

        def vouches(index: int, st: os.stat_result) -> bool:
            row = known[index]
            return (
                row is not None
                and row[1:5] == _stat_stamp(st)
                and row[column] == blake3s[index]
                and _row_vouches(row, racy.now_ns())  # asked just before the link
            )

        return vouches

    def store(
        self,
        path: Path | str,
        st: os.stat_result,
        digests: Mapping[str, str],
        recorded_ns: int,
        newest_ns: int | None = None,
    ) -> None:
        """Record *digests* of the file with stat *st*, read no earlier than *recorded_ns*
        (:func:`scisync._util.racy.now_ns` taken before the read).  *newest_ns* is the
        latest change the digests account for (default: the stat's own, see :meth:`carry`)."""
        newest = racy.newest_change_ns(st) if newest_ns is None else newest_ns
        values = [digests.get(name) for name in SUPPORTED_ALGORITHMS]
        times = (_column_time(recorded_ns), _column_time(newest))
        row = (_absolute(path), *_stat_stamp(st), *times, *values, racy.now_ns())
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute(_UPSERT, row)
            except sqlite3.Error:
                self._failed()
                return
            self._dirty = True

    def carry(
        self,
        path: Path | str,
        before: os.stat_result,
        after: os.stat_result,
        algorithms: Sequence[str],
    ) -> bool:
        """Store the entry that vouches for *before* again under *after*, keeping when it
        was recorded and the latest change it accounts for (see
        :meth:`CachedHasher.follow_link` for when that is right); False if no entry vouches
        for *before*."""
        row, digests = self._vouched([path], [before], algorithms)[0]
        if row is None:
            return False
        self.store(path, after, digests, row[_RECORDED], newest_ns=row[_RECORDED + 1])
        return True

    def save(self) -> None:
        """Commit the entries stored since the last save (nothing to do: nothing written)."""
        with self._lock:
            if not self._dirty or self._db is None:
                return
            self._dirty = False
            try:
                self._db.commit()
            except sqlite3.Error:
                self._failed()

    def close(self) -> None:
        """Commit, then close the file (the cache then answers nothing)."""
        self.save()
        with self._lock:
            self._failed()


def _sql_vouches(newest: object, recorded: object, now: int) -> bool:
    """The racy rule as the SQL function ``vouches`` (a value edited by hand: no)."""
    return (
        type(newest) is int and type(recorded) is int and racy.stamp_vouches(newest, recorded, now)
    )


def _row_vouches(row: Row, now: int) -> bool:
    recorded, newest = row[_RECORDED], row[_RECORDED + 1]
    return (
        isinstance(recorded, int)
        and isinstance(newest, int)
        and racy.stamp_vouches(newest, recorded, now)
    )


_P = TypeVar("_P", Path, str)


@dataclass(frozen=True)
class HashedFiles(Generic[_P]):
    """Result of :func:`hash_files`: digests per path (as given), and how much was read."""

    digests: dict[_P, dict[str, str]]
    files_read: int
    bytes_read: int


def hash_files(
    paths: Iterable[_P],
    algorithms: Sequence[str],
    cache: HashCache | None = None,
    workers: int = 4,
    stats: Sequence[os.stat_result] | None = None,
) -> HashedFiles[_P]:
    """Hash many files in parallel, reading only those the cache cannot vouch for.

    *stats*, if given, are the files' stats in the order of *paths*, taken by the caller
    before (a stat taken before the read is a safe cache stamp: a later change moves it).
    The cache (if given) gets the new digests; ``cache.save()`` commits them.
    """
    wanted = [normalise_algorithm(a) for a in algorithms]
    known: dict[_P, os.stat_result] = {}
    if stats is not None:
        paths = list(paths)
        known = dict(zip(paths, stats, strict=True))
    unique = list(dict.fromkeys(paths))
    results: dict[_P, dict[str, str]] = {}
    to_read = _uncached(unique, known, wanted, cache, results)
    del known

    def work(item: tuple[_P, os.stat_result]) -> tuple[_P, dict[str, str]]:
        path, st = item
        recorded = racy.now_ns()  # before the read: a write after it makes the row racy
        digests = _hash_small(path, st.st_size, wanted)
        if digests is None:
            digests = hash_file(Path(path), wanted)
        if cache is not None:
            cache.store(path, st, digests, recorded)
        return path, digests

    large = [item for item in to_read if item[1].st_size >= _THREADED_FROM]
    small = [item for item in to_read if item[1].st_size < _THREADED_FROM]
    # Largest first, so a big file does not start last and leave the other workers idle.
    large.sort(key=lambda item: item[1].st_size, reverse=True)
    computed: list[tuple[_P, dict[str, str]]] = []
    if len(large) <= 1 or workers <= 1:
        computed += map(work, large)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scisync-hash") as pool:
            # A window of futures, not one per file at once: each future holds a lock
            # and a condition (about 400 B), 400 MB for a million files.
            for start in range(0, len(large), _HASH_WINDOW):
                computed += pool.map(work, large[start : start + _HASH_WINDOW])
    computed += map(work, small)
    for path, digests in computed:
        results[path] = digests
    return HashedFiles(
        digests={path: results[path] for path in unique},
        files_read=len(to_read),
        bytes_read=sum(st.st_size for _, st in to_read),
    )


def _uncached(
    unique: Sequence[_P],
    known: Mapping[_P, os.stat_result],
    wanted: Sequence[str],
    cache: HashCache | None,
    results: dict[_P, dict[str, str]],
) -> list[tuple[_P, os.stat_result]]:
    """The files the cache cannot vouch for, with their stats; the others' digests go
    into *results*.  One batch of look-ups: the cache is on disk, a query per file costs more."""
    taken = [known.get(path) or _stat_to_hash(path) for path in unique]
    cached = cache.lookup_many(unique, taken, wanted) if cache is not None else [None] * len(taken)
    to_read: list[tuple[_P, os.stat_result]] = []
    for path, st, found in zip(unique, taken, cached, strict=True):
        if found is not None:
            results[path] = found
        else:
            to_read.append((path, st))
    return to_read


def unreadable_to_hash(exc: OSError, path: Path | str) -> StorageError:
    """The error for a file that cannot be stat'ed or read to hash it (the one wording)."""
    return StorageError(
        f"cannot read file to hash it: {exc.strerror or exc}",
        where=str(path),
        hint=os_error_hint(exc),
    )


def _stat_to_hash(path: Path | str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        raise unreadable_to_hash(exc, path) from exc


def _hash_small(path: Path | str, size: int, algorithms: Sequence[str]) -> dict[str, str] | None:
    """Digests of a file below ``_THREADED_FROM`` bytes, read with one system call; None
    for a larger one.  A first plan of 100,000 small files spent more on the file object,
    the Path and a second stat than on reading and hashing."""
    if size >= _THREADED_FROM:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, size + 1)  # a regular file gives all it has, up to that
        finally:
            os.close(fd)
    except OSError as exc:
        raise unreadable_to_hash(exc, path) from exc
    if len(data) > size:
        return None  # it grew since its stat: the streaming read hashes all it finds
    digests = {}
    for name in algorithms:
        hasher = new_hasher(name)
        hasher.update(data)
        digests[name] = hasher.hexdigest()
    return digests


def _absolute(path: Path | str) -> str:
    text = path if isinstance(path, str) else str(path)
    return text if os.path.isabs(text) else os.path.abspath(text)


class CachedHasher:
    """The desired-state :class:`scisync.desired.model.Hasher`: :func:`hash_files` behind a
    :class:`HashCache` kept in a file, counting the files it really had to read."""

    def __init__(self, cache_file: Path, workers: int = 4) -> None:
        self.cache_file = cache_file
        self.workers = workers
        self.files_read = 0
        self._cache: HashCache | None = None
        self._opening = threading.Lock()
        self._unsaved = 0  # files hashed since the cache was last committed

    @property
    def cache(self) -> HashCache:
        # Opened on first use, inside planning, not at connect: a settled plan never opens it.
        # Under a lock: downloads record their digests from several threads, and a second
        # HashCache opened by a race held an uncommitted transaction that was never saved.
        with self._opening:
            if self._cache is None:
                self._cache = HashCache(self.cache_file)
            return self._cache

    def digests(
        self,
        paths: Sequence[Path | str],
        algorithms: Sequence[str],
        stats: Sequence[os.stat_result] | None = None,
    ) -> list[Mapping[str, str]]:
        found: list[Mapping[str, str] | None] = [None] * len(paths)
        if stats is not None:
            found = list(self.cache.lookup_many(paths, stats, algorithms))
        misses = [index for index, digests in enumerate(found) if digests is None]
        if misses:
            wanted = [_absolute(paths[index]) for index in misses]
            known = None if stats is None else [stats[index] for index in misses]
            hashed = hash_files(wanted, algorithms, self.cache, self.workers, known)
            self.files_read += hashed.files_read
            self._unsaved += hashed.files_read
            if self._unsaved >= _SAVE_AFTER:
                self.flush()
            for index, path in zip(misses, wanted, strict=True):
                found[index] = hashed.digests[path]
        complete = [digests for digests in found if digests is not None]
        assert len(complete) == len(paths), "hash_files answers for every path it is given"
        return complete

    def record(self, path: Path | str, st: os.stat_result, digests: Mapping[str, str]) -> None:
        """Store digests computed elsewhere (a download hashes what it copies), recorded
        now: the file was just written, so its entry is racy (:mod:`scisync._util.racy`)
        and the next look-up reads it once more; that read's entry then holds."""
        self.cache.store(_absolute(path), st, digests, racy.now_ns())
        self._unsaved += 1
        if self._unsaved >= _SAVE_AFTER:
            self.flush()

    def voucher(
        self, paths: Sequence[Path | str], blake3s: Sequence[str]
    ) -> Callable[[int, os.stat_result], bool]:
        """Vouches for files without reading them: ``voucher(paths, blake3s)(i, st)`` is
        True when ``paths[i]`` was hashed (or downloaded, or linked) to ``blake3s[i]``
        under the stamp *st*.  The entries are read in one batch now, each stat compared
        when asked (a hard-linked upload asks once per file, just before its link)."""
        return self.cache.voucher(paths, blake3s)

    def follow_link(
        self,
        path: Path | str,
        before: os.stat_result,
        after: os.stat_result,
        algorithms: Sequence[str],
    ) -> None:
        """Carry an entry across scisync's own hard link of *path* (``hardlink: true``).

        A link moves the file's ctime (its link count changed) and nothing else; without
        this the next plan would read every linked file again (a million files: 910 s).
        The rule: the entry must hold for *before* (the stat taken just before the link)
        and *after* must differ from it in the ctime alone (same size, mtime, inode and
        device); anything else and nothing is carried (the next plan reads the file).

        The carried entry keeps when it was recorded and the latest change it accounted
        for (the mtime and ctime before the link), so the racy rule judges it as it judged
        the entry before: the link's own fresh ctime does not make it racy.  Sound because
        the entry vouched for *before*, whose mtime is then more than the margin old: any
        write since would have moved the mtime, so only the link moved the ctime (short of
        a write that puts the mtime back by hand within the link's clock tick, the one
        change this rule accepts by its nature).
        """
        same_file = (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
        same_content_stamp = (before.st_size, before.st_mtime_ns) == (
            after.st_size,
            after.st_mtime_ns,
        )
        if not (same_file and same_content_stamp):
            return
        if self.cache.carry(_absolute(path), before, after, algorithms):
            self._unsaved += 1
            if self._unsaved >= _SAVE_AFTER:
                self.flush()

    def flush(self) -> None:
        """Commit the digests computed since the last commit.

        :meth:`digests` commits on its own every ``_SAVE_AFTER`` files hashed (a commit
        writes only the new rows, so a first plan or a pull can commit as it goes); the
        owner (:func:`scisync.api.connect`) flushes at the end.  A run killed in between
        only hashes those files again.
        """
        if self._cache is not None and self._unsaved:
            self._cache.save()
            self._unsaved = 0
