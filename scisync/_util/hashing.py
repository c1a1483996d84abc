"""File checksums: one read feeds every algorithm, and a cache skips unchanged files.

Local files are hashed with blake3 (fast, multithreaded) plus, when SciCat or a lockfile
records another algorithm, that one too, from the same read.  :class:`HashCache` remembers
digests by (size, mtime_ns, ctime_ns, inode) so an unchanged file is never read twice, which is what
makes a no-op ``scisync plan`` cheap on a large dataset.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TextIO, TypeVar

import blake3 as _blake3

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
"""Files hashed before :class:`CachedHasher` writes its cache file during a run."""

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
        raise StorageError(
            f"cannot read file to hash it: {exc.strerror or exc}",
            where=str(path),
            hint=os_error_hint(exc),
        ) from exc


@dataclass(frozen=True, slots=True)  # one per file, by the million
class _Entry:
    size: int
    mtime_ns: int
    inode: int
    # Flat (name, hex, name, hex, ...): a tuple is a third of a dict's size, and the
    # names are the interned ones normalise_algorithm returns.
    pairs: tuple[str, ...]
    # The ctime moves on every write and cannot be set back (an mtime can: cp -p, rsync -t,
    # tar), so an edit that keeps the size and restores the mtime is still seen.
    ctime_ns: int = -1

    @property
    def stamp(self) -> tuple[int, int, int, int]:
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)

    @property
    def digests(self) -> dict[str, str]:
        pairs = self.pairs
        return {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}


def _pairs(digests: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(item for name in sorted(digests) for item in (name, digests[name]))


def _stat_stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _raw_stamp(raw: Any) -> tuple[int, int, int, int]:
    """The stamp of a loaded JSON entry (KeyError/TypeError when it has none)."""
    return (raw["size"], raw["mtime_ns"], raw["ctime_ns"], raw["inode"])


class HashCache:
    """Digests of local files, persisted as JSON, valid while a file looks unchanged.

    An entry is keyed by absolute path and trusted while the file's size, mtime and ctime
    (ns) and inode are the same as when it was hashed.  Thread-safe; :meth:`save` writes the file
    atomically (temporary file, then ``os.replace``) and only when something changed.
    """

    VERSION = 1

    def __init__(self, file: Path) -> None:
        self.file = file
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._raw: dict[str, Any] = {}  # loaded but not yet parsed
        self._dirty = False
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            # A corrupt cache only costs re-hashing; it must never stop a run.
            self._dirty = True
            return
        if not isinstance(raw, dict) or raw.get("version") != self.VERSION:
            self._dirty = True
            return
        entries = raw.get("entries", {})
        if isinstance(entries, dict):
            # Parsed per entry on first use: a no-op plan touches every entry once, and
            # building 100,000 objects up front cost more than all the lookups together.
            self._raw = entries

    def _entry(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        value = self._raw.pop(key, None)
        if value is None:
            return None
        try:
            entry = _Entry(
                size=int(value["size"]),
                mtime_ns=int(value["mtime_ns"]),
                inode=int(value["inode"]),
                ctime_ns=int(value["ctime_ns"]),
                pairs=_pairs({sys.intern(str(k)): str(v) for k, v in value["digests"].items()}),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            self._dirty = True  # a damaged entry only costs re-hashing that file
            return None
        self._entries[key] = entry
        return entry

    def lookup(
        self, path: Path | str, st: os.stat_result, algorithms: Sequence[str]
    ) -> dict[str, str] | None:
        """The cached digests of every requested algorithm, or None if the file must be read.

        *path* may be a string: on the no-op plan path, 100,000 Path objects cost more
        than the lookups themselves.
        """
        key = path if isinstance(path, str) else str(path)
        if not os.path.isabs(key):
            key = os.path.abspath(key)
        with self._lock:
            entry = self._entries.get(key)
            raw = self._raw.get(key) if entry is None else None
        if raw is not None:
            # Straight from the loaded JSON: no object per file on the no-op path.
            try:
                if _raw_stamp(raw) != _stat_stamp(st):
                    return None
                found: dict[str, str] = raw["digests"]
                wanted = [normalise_algorithm(a) for a in algorithms]
                return {name: str(found[name]) for name in wanted}
            except (KeyError, TypeError):
                return None
        if entry is None or entry.stamp != _stat_stamp(st):
            return None
        wanted = [normalise_algorithm(a) for a in algorithms]
        digests = entry.digests
        if any(name not in digests for name in wanted):
            return None
        return {name: digests[name] for name in wanted}

    def lookup_many(
        self,
        paths: Sequence[Path | str],
        stats: Sequence[os.stat_result],
        algorithms: Sequence[str],
    ) -> list[dict[str, str] | None]:
        """:meth:`lookup` for many files at once: one lock, algorithm names normalised once.

        The no-op plan of 100,000 files spent more in the per-call set-up than in the lookups.
        """
        wanted = [normalise_algorithm(a) for a in algorithms]
        found: list[dict[str, str] | None] = []
        with self._lock:
            for path, st in zip(paths, stats, strict=True):
                key = path if isinstance(path, str) else str(path)
                if not os.path.isabs(key):
                    key = os.path.abspath(key)
                entry = self._entries.get(key)
                raw = self._raw.get(key) if entry is None else None
                if raw is None:
                    stamp = None if entry is None else entry.stamp
                    digests = None if entry is None else entry.digests
                else:
                    try:
                        stamp = _raw_stamp(raw)
                        digests = raw["digests"]
                    except (KeyError, TypeError):
                        stamp = digests = None
                if stamp != _stat_stamp(st) or not isinstance(digests, dict):
                    found.append(None)
                elif all(name in digests for name in wanted):
                    found.append({name: str(digests[name]) for name in wanted})
                else:
                    found.append(None)
        return found

    def store(self, path: Path | str, st: os.stat_result, digests: Mapping[str, str]) -> None:
        # An absolute str is kept as the key as it is: the caller's (a LocalFile's) path
        # string, not a copy per file.
        key = path if isinstance(path, str) else str(path)
        if not os.path.isabs(key):
            key = os.path.abspath(key)
        with self._lock:
            old = self._entry(key)
            merged: Mapping[str, str] = digests
            if old is not None and old.stamp == _stat_stamp(st):
                merged = {**old.digests, **digests}
            self._entries[key] = _Entry(
                st.st_size, st.st_mtime_ns, st.st_ino, _pairs(merged), ctime_ns=st.st_ctime_ns
            )
            self._dirty = True

    def save(self) -> None:
        """Write the cache if it changed: temporary file in the same folder, then replace.

        Written one entry at a time: building the whole document first (a dict, then
        its text) cost about 2 KB per file at the peak, 2 GB for a million files.
        Entries loaded but never used are copied as they are, not parsed into objects.
        """
        with self._lock:
            if not self._dirty:
                return
            rows: list[tuple[str, _Entry | Any]] = sorted(
                [*self._entries.items(), *self._raw.items()], key=lambda row: row[0]
            )
            self._dirty = False
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.file.name}.", suffix=".tmp", dir=self.file.parent
            )
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    _write_entries(out, rows, self.VERSION)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.file)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(
                f"cannot write the hash cache: {exc.strerror or exc}",
                where=str(self.file),
                hint=os_error_hint(exc),
            ) from exc


def _write_entries(out: TextIO, rows: Iterable[tuple[str, _Entry | Any]], version: int) -> None:
    """The cache document, ``{"entries": {path: entry, ...}, "version": N}``, streamed."""
    out.write('{"entries": {')
    separator = "\n"
    for path, entry in rows:
        if isinstance(entry, _Entry):
            size, mtime_ns, ctime_ns, inode = entry.stamp
            digests = entry.digests
        else:  # loaded and never looked at: copied if well-formed, dropped if damaged or old
            try:
                size, mtime_ns, ctime_ns, inode = (
                    int(entry[k]) for k in ("size", "mtime_ns", "ctime_ns", "inode")
                )
                digests = {str(k): str(v) for k, v in entry["digests"].items()}
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
        row = {
            "ctime_ns": ctime_ns,
            "digests": dict(sorted(digests.items())),
            "inode": inode,
            "mtime_ns": mtime_ns,
            "size": size,
        }
        out.write(f"{separator}{json.dumps(path)}: {json.dumps(row)}")
        separator = ",\n"
    out.write(f'\n}}, "version": {version}}}\n')


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
    The cache (if given) is updated in memory; call ``cache.save()`` to persist it.
    """
    wanted = [normalise_algorithm(a) for a in algorithms]
    known: dict[_P, os.stat_result] = {}
    if stats is not None:
        paths = list(paths)
        known = dict(zip(paths, stats, strict=True))
    unique = list(dict.fromkeys(paths))
    results: dict[_P, dict[str, str]] = {}
    to_read: list[tuple[_P, os.stat_result]] = []
    for path in unique:
        st = known.get(path) or _stat_to_hash(path)
        cached = cache.lookup(path, st, wanted) if cache is not None else None
        if cached is not None:
            results[path] = cached
        else:
            to_read.append((path, st))

    def work(item: tuple[_P, os.stat_result]) -> tuple[_P, dict[str, str]]:
        path, st = item
        digests = _hash_small(path, st.st_size, wanted)
        if digests is None:
            digests = hash_file(Path(path), wanted)
        if cache is not None:
            cache.store(path, st, digests)
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


def _stat_to_hash(path: Path | str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        raise StorageError(
            f"cannot read file to hash it: {exc.strerror or exc}",
            where=str(path),
            hint=os_error_hint(exc),
        ) from exc


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
        raise StorageError(
            f"cannot read file to hash it: {exc.strerror or exc}",
            where=str(path),
            hint=os_error_hint(exc),
        ) from exc
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
        self._unsaved = 0  # files hashed since the cache file was last written
        self._saved = 0  # files hashed up to that write

    @property
    def cache(self) -> HashCache:
        # Loaded on first use, inside planning (where the collector is paused), not at connect.
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
            # Strings stay strings: they become the cache's keys without a copy per file.
            wanted = [_absolute(paths[index]) for index in misses]
            known = None if stats is None else [stats[index] for index in misses]
            hashed = hash_files(wanted, algorithms, self.cache, self.workers, known)
            self.files_read += hashed.files_read
            self._unsaved += hashed.files_read
            if self._unsaved >= max(_SAVE_AFTER, self._saved):
                self.flush()
            for index, path in zip(misses, wanted, strict=True):
                found[index] = hashed.digests[path]
        complete = [digests for digests in found if digests is not None]
        assert len(complete) == len(paths), "hash_files answers for every path it is given"
        return complete

    def record(self, path: Path | str, st: os.stat_result, digests: Mapping[str, str]) -> None:
        """Store digests computed elsewhere (a download hashes what it copies)."""
        self.cache.store(_absolute(path), st, digests)
        self._unsaved += 1

    def flush(self) -> None:
        """Write the cache file if files were hashed since it was last written.

        :meth:`digests` writes it on its own only once the files hashed since the last
        write are as many as those before (and at least ``_SAVE_AFTER``): a first plan or a
        pull calls it once per dataset, and writing the whole cache each time was quadratic
        (1,000 datasets x 100 files: 1,000 writes of up to 100,000 entries).  The owner
        (:func:`scisync.api.connect`) flushes at the end; a run killed before that only
        hashes those files again.
        """
        if self._cache is not None and self._unsaved:
            self._cache.save()
            self._saved += self._unsaved
            self._unsaved = 0
