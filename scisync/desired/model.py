"""Desired state: the manifest made concrete.

Globs are resolved to files, files are hashed (blake3 for the lockfile plus the
dataset's SciCat checksum algorithm, in one read, cached by size+mtime+inode), images
become thumbnails, and every dataset and sample gets the SciCat document scisync wants
it to have.  This stage reads local files; it never talks to SciCat or the storage.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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


@dataclass(frozen=True, slots=True)  # one per file, by the million
class LocalFile:
    relative: str  # POSIX path relative to the dataset's source folder
    local: str  # absolute local path (a str: Path objects are costly by the 100,000)
    size: int
    mtime: float
    blake3: str
    checksum: Checksum  # in the dataset's SciCat algorithm


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
