"""Desired state: the manifest made concrete.

Globs are resolved to files, files are hashed (blake3 for the lockfile plus the
dataset's SciCat checksum algorithm, in one read, cached by size+mtime+inode), images
become thumbnails, and every dataset and sample gets the SciCat document scisync wants
it to have.  This stage reads local files; it never talks to SciCat or the storage.
"""

from __future__ import annotations

import os
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import Protocol

from scisync._util.columns import PackedHex, PackedInts, PackedStrings, Same, TupleLike, repeated
from scisync._util.folded import fold, pack_hex, unpack_hex
from scisync._util.jsontypes import Json, JsonObject
from scisync.manifest.model import (
    DatasetSpec,
    DownloadSpec,
    KeyRef,
    PublicationSpec,
    Reference,
    SampleSpec,
)
from scisync.storage.base import Checksum, RemotePath
from scisync.storage.roots import Roots


class Hasher(Protocol):
    """Hashes local files, reading each at most once and skipping unchanged ones."""

    def digests(
        self,
        paths: Sequence[Path | str],
        algorithms: Sequence[str],
        stats: Sequence[os.stat_result] | None = None,
    ) -> list[Mapping[str, str]]:
        """Digests of each path, in the order given; ``stats`` (already taken by the caller,
        in the same order) saves a second stat per file."""
        ...

    def record(self, path: Path | str, st: os.stat_result, digests: Mapping[str, str]) -> None:
        """Remember digests computed elsewhere (while downloading *path*; *st* its stat
        since).  A file written just now is racy (:mod:`scisync._util.racy`): a later
        :meth:`digests` still reads it once, and only that read's entry saves reads after."""
        ...

    def voucher(
        self, paths: Sequence[Path | str], blake3s: Sequence[str]
    ) -> Callable[[int, os.stat_result], bool]:
        """A test of ``(i, st)``: is ``paths[i]`` known, without reading it, to have been
        hashed to ``blake3s[i]`` under the stamp *st*?  (What ``hardlink: true`` asks
        before linking a file.)"""
        ...

    def follow_link(
        self,
        path: Path | str,
        before: os.stat_result,
        after: os.stat_result,
        algorithms: Sequence[str],
    ) -> None:
        """*path* was hard-linked elsewhere by scisync, its stat *before* and *after*: the
        digests known for *before* hold for *after* when only the ctime moved."""
        ...


class LocalFile:
    """One selected local file, hashed.  Immutable, compared by value.

    A desired state holds one per file, by the million (issue 13): the absolute path is
    kept as its folder (shared by the dataset's files), and the two digests as their bytes
    (72 B each instead of 120 B for the hex text); the text is made when it is read.
    """

    __slots__ = ("_algorithm", "_blake3", "_checksum", "_folder", "_joined", "relative", "size")

    relative: str  # POSIX path relative to the dataset's source folder
    size: int
    _folder: str
    _joined: bool
    _blake3: bytes | str
    _algorithm: str  # of the checksum: the dataset's SciCat algorithm (interned)
    _checksum: bytes | str

    def __init__(
        self, relative: str, local: str, size: int, blake3: str, checksum: Checksum
    ) -> None:
        folder, joined = fold(local, relative)
        setattr_ = object.__setattr__
        setattr_(self, "relative", relative)
        setattr_(self, "_folder", folder)
        setattr_(self, "_joined", joined)
        setattr_(self, "size", size)
        setattr_(self, "_blake3", pack_hex(blake3))
        setattr_(self, "_algorithm", sys.intern(checksum.algorithm))
        setattr_(self, "_checksum", pack_hex(checksum.value))

    @property
    def local(self) -> str:
        """The absolute local path (a str: Path objects are costly by the 100,000)."""
        return f"{self._folder}/{self.relative}" if self._joined else self._folder

    @property
    def blake3(self) -> str:
        return unpack_hex(self._blake3)

    @property
    def checksum_text(self) -> str:
        """``"<alg>:<hex>"`` in the dataset's SciCat algorithm, as the plan and lockfile hold it."""
        return f"{self._algorithm}:{unpack_hex(self._checksum)}"

    @property
    def checksum(self) -> Checksum:
        """The checksum in the dataset's SciCat algorithm."""
        return Checksum(self._algorithm, unpack_hex(self._checksum))

    def _values(self) -> tuple[object, ...]:
        return (self.relative, self.local, self.size, self.blake3, self.checksum_text)

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not LocalFile:
            return NotImplemented
        assert isinstance(other, LocalFile)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        relative, local, size, blake3, checksum = self._values()
        return (
            f"LocalFile(relative={relative!r}, local={local!r}, size={size!r}, "
            f"blake3={blake3!r}, checksum={checksum!r})"
        )


class LocalPaths(TupleLike[str]):
    """Absolute local paths, each given with its path relative to a folder: kept as the
    few distinct folders and which one each path has (a path that is not its folder +
    ``/`` + its relative path is kept as it is).  A dataset's 100 paths of 40 characters
    take about 120 B here instead of 9 KB as strings."""

    __slots__ = ("_folders", "_odd", "_relative", "_which")

    def __init__(self, relative: Sequence[str], local: Iterable[str]) -> None:
        folders: dict[str, int] = {}
        which = array("I")
        odd: dict[int, str] = {}
        for index, (rel, path) in enumerate(zip(relative, local, strict=True)):
            folder, joined = fold(path, rel)
            if not joined or folder is None:
                odd[index] = path
                which.append(0)
            else:
                which.append(folders.setdefault(folder, len(folders)))
        self._relative = relative
        self._folders = tuple(folders)
        self._which = which if len(folders) > 1 else None  # mostly one folder: no column
        self._odd = odd or None

    @property
    def relatives(self) -> Sequence[str]:
        return self._relative

    def _item(self, index: int) -> str:
        if self._odd is not None and index in self._odd:
            return self._odd[index]
        which = self._which
        return f"{self._folders[which[index] if which is not None else 0]}/{self._relative[index]}"

    def __len__(self) -> int:
        return len(self._relative)

    def __iter__(self) -> Iterator[str]:
        if self._odd is None and self._which is None and self._folders:
            return map(f"{self._folders[0]}/".__add__, self._relative)  # one folder: in C
        return super().__iter__()


class LocalFiles(TupleLike[LocalFile]):
    """A dataset's files as columns: one packed string of relative paths, the folders
    once, sizes in an array, each digest algorithm's values in one bytes blob.

    A first apply of a million files held a LocalFile, its relative path and two digest
    objects per file (about 280 B) from hashing to the end (issue 13); these columns take
    about 85 B a file.  A :class:`LocalFile` is made when an element is read; readers of
    many files take the columns instead (:attr:`relatives`, :attr:`sizes`, ...).  Equal
    to, and hashed like, the tuple of its LocalFiles.
    """

    __slots__ = ("_algorithms", "_blake3", "_checksums", "_local", "_relative", "_sizes")

    def __init__(
        self,
        relative: Iterable[str],
        local: Iterable[str],
        sizes: Iterable[int],
        blake3: Iterable[str],
        algorithms: str | Iterable[str],
        checksums: Iterable[str],
    ) -> None:
        """Columns of one length; *algorithms* the checksum algorithm of every file (one
        name for all, or one per file)."""
        self._relative = (
            relative if isinstance(relative, PackedStrings) else PackedStrings(relative)
        )
        if not (isinstance(local, LocalPaths) and local.relatives is self._relative):
            local = LocalPaths(self._relative, local)
        self._local = local
        self._sizes = PackedInts(sizes)
        self._blake3 = PackedHex(blake3, width=32)
        self._checksums = PackedHex(checksums)
        self._algorithms = _algorithm_column(algorithms, len(self._relative))
        lengths = {len(self._local), len(self._sizes), len(self._blake3), len(self._checksums)}
        lengths.add(len(self._algorithms))
        if lengths != {len(self._relative)}:
            raise ValueError("LocalFiles: columns of different lengths")

    @classmethod
    def of(cls, files: Iterable[LocalFile]) -> LocalFiles:
        """The columns of *files* (a tuple of LocalFiles, as tests and small callers make)."""
        if isinstance(files, LocalFiles):
            return files
        files = tuple(files)
        return cls(
            (f.relative for f in files),
            (f.local for f in files),
            (f.size for f in files),
            (f.blake3 for f in files),
            [f.checksum.algorithm for f in files] if files else "",
            (f.checksum.value for f in files),
        )

    @property
    def relatives(self) -> PackedStrings:
        return self._relative

    @property
    def locals(self) -> LocalPaths:
        return self._local

    @property
    def sizes(self) -> PackedInts:
        return self._sizes

    @property
    def blake3s(self) -> PackedHex[str]:
        return self._blake3

    @property
    def checksum_values(self) -> PackedHex[str]:
        """The hex value of each file's checksum (in its algorithm)."""
        return self._checksums

    def algorithms(self) -> Sequence[str]:
        """The checksum algorithm of each file, in order."""
        return self._algorithms

    def checksum_texts(self) -> Iterable[str]:
        """``"<alg>:<hex>"`` of each file, in order (as LocalFile.checksum_text)."""
        algorithms = self._algorithms
        if isinstance(algorithms, Same):
            return map(f"{algorithms.value}:".__add__, self._checksums)
        return map("{}:{}".format, algorithms, self._checksums)

    def _item(self, index: int) -> LocalFile:
        algorithm = self._algorithms[index]
        return LocalFile(
            relative=self._relative[index],
            local=self._local[index],
            size=self._sizes[index],
            blake3=self._blake3[index],
            checksum=Checksum(algorithm, self._checksums[index]),
        )

    def __len__(self) -> int:
        return len(self._relative)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LocalFiles) and (
            self._relative == other._relative
            and self._sizes == other._sizes
            and self._blake3 == other._blake3
            and self._checksums == other._checksums
            and self._algorithms == other._algorithms
            and self._local == other._local
        ):
            return True  # the same columns; else compared file by file, as tuples are
        return super().__eq__(other)

    def __hash__(self) -> int:
        return super().__hash__()


def _algorithm_column(algorithms: str | Iterable[str], count: int) -> Same[str] | PackedStrings:
    """One checksum algorithm per file: kept once (interned) when every file has the same
    one, as a dataset's files do, else packed."""
    if isinstance(algorithms, str):
        return Same(sys.intern(algorithms), count)
    per_file = algorithms if isinstance(algorithms, (list, tuple)) else list(algorithms)
    column = repeated(per_file, PackedStrings)
    if isinstance(column, Same):
        return Same(sys.intern(column.value), len(column))
    assert isinstance(column, PackedStrings)
    return column


@dataclass(frozen=True)
class DesiredAttachment:
    caption: str
    image: Path
    blake3: str
    thumbnail_sha256: str


@dataclass(frozen=True)
class DesiredDataset:
    spec: DatasetSpec
    marker: str
    # A tuple, or (as built from the manifest) the LocalFiles columns: equal either way.
    files: Sequence[LocalFile]
    attachments: tuple[DesiredAttachment, ...]
    body: JsonObject  # SciCat v4 create body; references as {"$ref": "<address>"}
    fields_digest: str
    source_folder: RemotePath
    # Settled (scisync.observe.settled): nothing it reads moved since a full plan found it
    # unchanged, so its files and attachments were not expanded (both empty here) and
    # the planner keeps it as it is.
    settled: bool = False

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass(frozen=True)
class DesiredSample:
    spec: SampleSpec
    sample_id: str
    body: JsonObject
    fields_digest: str

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass(frozen=True, slots=True)  # one per file, by the million
class PresentFile:
    """A file already in a download's target folder."""

    relative: str
    size: int
    blake3: str
    checksums: Mapping[str, str]


@dataclass(frozen=True)
class DesiredDownload:
    spec: DownloadSpec
    present: Mapping[str, PresentFile]

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass(frozen=True)
class DesiredPublication:
    """A PublishedData record: its body (datasetPids as pids or ``{"$ref": ...}``, the
    marker in ``metadata``), found again by the marker (SciCat assigns the DOI)."""

    spec: PublicationSpec
    marker: str
    body: JsonObject  # title, abstract, datasetPids, metadata
    fields_digest: str

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass(frozen=True)
class DesiredState:
    project: str
    manifest_digest: str
    datasets: tuple[DesiredDataset, ...]
    samples: tuple[DesiredSample, ...]
    downloads: tuple[DesiredDownload, ...]
    roots: Roots  # where the storage may be read and written (the manifest's storage section)
    publications: tuple[DesiredPublication, ...] = ()


def reference_value(ref: Reference, kind: str) -> Json:
    """A body value for a reference: a pid, or a placeholder resolved at apply time."""
    if isinstance(ref, KeyRef):
        return {"$ref": f"{kind}.{ref.key}"}
    return ref.pid


__all__ = [
    "DesiredAttachment",
    "DesiredDataset",
    "DesiredDownload",
    "DesiredPublication",
    "DesiredSample",
    "DesiredState",
    "Hasher",
    "LocalFile",
    "LocalFiles",
    "LocalPaths",
    "PresentFile",
]
