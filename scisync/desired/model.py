"""Desired state: the manifest made concrete.

Globs are resolved to files, files are hashed (blake3 for the lockfile plus the
dataset's SciCat checksum algorithm, in one read, cached by size+mtime+inode), images
become thumbnails, and every dataset and sample gets the SciCat document scisync wants
it to have.  This stage reads local files; it never talks to SciCat or the storage.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import Protocol

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
        since), so that a later :meth:`digests` need not read the file."""
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
    files: tuple[LocalFile, ...]
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
    "PresentFile",
]
