"""The lockfile model: what scisync recorded after its last successful apply.

The lockfile is committed to git, so it holds only what is the same on every machine:
keys, pids, relative file paths, sizes and checksums.  No timestamps, absolute paths
or host names.  Collections are keyed and sorted when serialised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

LOCK_VERSION = 1
"""Bumped on breaking changes; a lockfile with a higher version is refused."""


@dataclass(frozen=True)
class LockedFile:
    """One file: path relative to the dataset's source folder (or download target)."""

    path: str
    size: int
    blake3: str
    checksum: str | None = None  # "<alg>:<hex>" as written to SciCat (chkAlg:chk), if any


@dataclass(frozen=True)
class LockedAttachment:
    caption: str
    id: str  # the attachment id (aid) in SciCat
    blake3: str  # of the local image it was made from


@dataclass(frozen=True)
class LockedDataset:
    key: str
    pid: str
    fields_digest: str  # sha256 of the managed fields as last applied: tells drift from edits
    files: tuple[LockedFile, ...] = ()
    attachments: tuple[LockedAttachment, ...] = ()
    supersedes: tuple[str, ...] = ()  # pids of datasets this one replaced
    # sha256 of the entry's file list as read from scisync.lock ("" when built in memory):
    # lets a no-op plan tell an unchanged entry without walking its files.
    files_digest: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class LockedSample:
    key: str
    sample_id: str
    fields_digest: str


@dataclass(frozen=True)
class LockedDownload:
    key: str
    pid: str
    files: tuple[LockedFile, ...] = ()


@dataclass(frozen=True)
class LockedPublication:
    """A PublishedData record: the DOI SciCat assigned, and its status when last applied."""

    key: str
    doi: str
    status: str  # private | public | registered | amended
    fields_digest: str


QUERY_MEMBER_SEPARATOR = "/"
"""A query download pins each matching dataset as its own ``downloads`` entry, keyed
``<download key>/<folder>``; manifest keys never hold a '/', so these never collide."""


def query_member_key(download_key: str, folder: str) -> str:
    return f"{download_key}{QUERY_MEMBER_SEPARATOR}{folder}"


def query_download_of(key: str) -> str | None:
    """The query download a ``downloads`` entry belongs to; None for a plain download."""
    head, separator, _ = key.partition(QUERY_MEMBER_SEPARATOR)
    return head if separator else None


@dataclass(frozen=True)
class Lockfile:
    project: str
    version: int = LOCK_VERSION
    datasets: Mapping[str, LockedDataset] = field(default_factory=dict)
    samples: Mapping[str, LockedSample] = field(default_factory=dict)
    downloads: Mapping[str, LockedDownload] = field(default_factory=dict)
    # Absent from lockfiles written before published data existed (read as empty).
    publications: Mapping[str, LockedPublication] = field(default_factory=dict)
