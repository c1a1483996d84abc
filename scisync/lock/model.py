"""The lockfile model: what scisync recorded after its last successful apply.

The lockfile is committed to git, so it holds only what is the same on every machine:
keys, pids, relative file paths, sizes and checksums.  No timestamps, absolute paths
or host names.  Collections are keyed and sorted when serialised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, overload

LOCK_VERSION = 1
"""Bumped on breaking changes; a lockfile with a higher version is refused."""


class LockedFile(NamedTuple):
    """One file: path relative to the dataset's source folder (or download target).

    A named tuple rather than a dataclass: a lockfile holds up to millions of them, and a
    tuple is built three times faster and is a quarter smaller (issue 13)."""

    path: str
    size: int
    blake3: str
    checksum: str | None = None  # "<alg>:<hex>" as written to SciCat (chkAlg:chk), if any


RawText = bytes | memoryview  # UTF-8; a view into the lockfile's bytes saves a copy


def _never_parsed(raw: RawText) -> tuple[LockedFile, ...]:
    raise AssertionError("a list checked at load is never parsed again")


class LockedFiles(Sequence[LockedFile]):
    """One entry's file list as read from scisync.lock: its canonical text, parsed and
    checked the first time anything reads a file (then cached; the text is dropped).

    The one way to reach a file of a list read from the lockfile is through this view,
    and the view hands out no file before *parse* has checked the whole list (the file
    rules of scisync.lock.filelist), raising LockfileError with the entry named.  A list
    nothing reads is never parsed: the settled no-op plan needs only :attr:`digest`, and
    the writer copies an unread list byte for byte (docs/security.md, "lockfile").
    """

    __slots__ = ("_digest", "_files", "_parse", "_raw")

    def __init__(self, raw: RawText, parse: Callable[[RawText], tuple[LockedFile, ...]]) -> None:
        self._raw: RawText | None = raw
        self._parse: Callable[[RawText], tuple[LockedFile, ...]] | None = parse
        self._files: tuple[LockedFile, ...] | None = None
        self._digest = ""

    @classmethod
    def checked(cls, files: tuple[LockedFile, ...], digest: str) -> LockedFiles:
        """A list read and checked at load (one outside the canonical layout); *digest*:
        sha256 of the text the writer makes of it, so the digest does not depend on
        the layout it was read in."""
        view = cls(b"", _never_parsed)
        view._files, view._raw, view._parse, view._digest = files, None, None, digest
        return view

    @property
    def unread(self) -> RawText | None:
        """The list's text as read (canonical layout), while nothing has parsed it."""
        return self._raw

    @property
    def digest(self) -> str:
        """sha256 of the list's text as read: any byte changed gives another digest."""
        if not self._digest and self._raw is not None:
            self._digest = hashlib.sha256(self._raw).hexdigest()
        return self._digest

    def check(self) -> None:
        """Parse and check the list (LockfileError if invalid) without keeping the files:
        a check of every list of a million files costs no memory past one list."""
        self._current()

    def _current(self) -> tuple[LockedFile, ...]:
        """The files, parsed again (and not kept) when they are not kept yet."""
        files, raw, parse = self._files, self._raw, self._parse
        if files is not None:
            return files
        if raw is None or parse is None:  # kept by another thread meanwhile (_files first)
            assert self._files is not None
            return self._files
        return parse(raw)

    def loaded(self) -> tuple[LockedFile, ...]:
        """The files, parsed and checked on the first call (LockfileError if invalid)."""
        files = self._files
        if files is None:
            raw, parse = self._raw, self._parse
            assert raw is not None and parse is not None
            self.digest  # noqa: B018 (kept: the text is dropped below)
            files = parse(raw)
            self._files, self._raw, self._parse = files, None, None
        return files

    def __len__(self) -> int:
        return len(self.loaded())

    @overload
    def __getitem__(self, index: int) -> LockedFile: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[LockedFile, ...]: ...
    def __getitem__(self, index: int | slice) -> LockedFile | tuple[LockedFile, ...]:
        return self.loaded()[index]

    def __iter__(self) -> Iterator[LockedFile]:
        return iter(self.loaded())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LockedFiles):
            if self._raw is not None and other._raw is not None and self._raw == other._raw:
                return True
            return self._current() == other._current()
        if isinstance(other, tuple):
            # Compared (by an apply deciding whether an entry stays as it is) without
            # keeping the files: a full plan of a million files compares every entry.
            return self._current() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._current())

    def __repr__(self) -> str:
        if self._files is None:
            return f"LockedFiles(<{len(self._raw or b'')} bytes, not read yet>)"
        return f"LockedFiles({self._files!r})"


FileColumns = tuple[Sequence[str], Sequence[int], Sequence[str], Sequence[str | None]]
"""A file list by columns: paths, sizes, blake3 digests, checksums (as LockedFile's fields)."""


class DerivedFiles(Sequence[LockedFile]):
    """A file list an apply records, made from the plan's files each time it is read and
    never kept: the lockfile after an apply of a million files held a LockedFile for each
    (about 90 B a file) while it was written, beside the plan that already holds them.

    *columns*, when given, makes the same list by columns (the writer reads it so, without
    a LockedFile per file); it must give exactly what *make* gives, in its order.
    """

    __slots__ = ("_make", "columns")

    def __init__(
        self,
        make: Callable[[], tuple[LockedFile, ...]],
        columns: Callable[[], FileColumns] | None = None,
    ) -> None:
        self._make = make
        self.columns = columns

    def __len__(self) -> int:
        return len(self._make())

    @overload
    def __getitem__(self, index: int) -> LockedFile: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[LockedFile, ...]: ...
    def __getitem__(self, index: int | slice) -> LockedFile | tuple[LockedFile, ...]:
        return self._make()[index]

    def __iter__(self) -> Iterator[LockedFile]:
        return iter(self._make())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DerivedFiles):
            return self._make() == other._make()
        if isinstance(other, (tuple, LockedFiles)):
            return other == self._make()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._make())

    def __repr__(self) -> str:
        return f"DerivedFiles({self._make()!r})"


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
    # A tuple when built in memory; a LockedFiles view when read from scisync.lock.
    files: Sequence[LockedFile] = ()
    attachments: tuple[LockedAttachment, ...] = ()
    supersedes: tuple[str, ...] = ()  # pids of datasets this one replaced

    @property
    def files_digest(self) -> str:
        """sha256 of the entry's file list as read from scisync.lock ("" when built in
        memory): lets a no-op plan tell an unchanged entry without reading its files."""
        return self.files.digest if isinstance(self.files, LockedFiles) else ""


@dataclass(frozen=True)
class LockedSample:
    key: str
    sample_id: str
    fields_digest: str


@dataclass(frozen=True)
class LockedDownload:
    key: str
    pid: str
    files: Sequence[LockedFile] = ()  # as in LockedDataset


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
