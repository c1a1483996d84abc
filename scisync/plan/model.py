"""The plan: plain data computed by the pure planner, rendered as text or JSON.

A plan is a list of :class:`ResourceChange` in dependency order.  Each change carries
everything the applier needs to execute it (so a saved plan can be applied later) and
everything a renderer shows (renderers never compute).  References to entries that
do not exist yet appear as ``{"$ref": "<address>"}`` in bodies and as
``after_unknown`` in field changes ("known after apply").
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import FrozenInstanceError, dataclass
from enum import StrEnum
from typing import cast

from scisync._util.columns import PackedInts, PackedStrings, TupleLike, hex_column, repeated
from scisync._util.folded import fold, pack_hex, unfold, unpack_hex
from scisync._util.jsontypes import Json, JsonObject
from scisync.errors import Problem

# Version 2 added ``conflicts``.  A scisync reads every format up to its own (an older
# plan simply has no conflicts) and refuses newer ones with an upgrade hint.
PLAN_FORMAT_VERSION = 2


class ResourceKind(StrEnum):
    DATASET = "dataset"
    SAMPLE = "sample"
    DOWNLOAD = "download"
    PUBLICATION = "publication"  # a SciCat PublishedData record (a DOI)


class Action(StrEnum):
    CREATE = "create"  # a new dataset or sample (files uploaded before the record)
    UPDATE = "update"  # PATCH differing fields, append files, add/update attachments
    REPLACE = "replace"  # a new dataset superseding one whose files changed
    ADOPT = "adopt"  # found by its marker but missing from the lockfile: record it
    FORGET = "forget"  # removed from the manifest: dropped from the lockfile, left in SciCat
    DOWNLOAD = "download"  # fetch files into a local folder
    MARK = "mark"  # `scisync import`: set scisync's marker on an existing dataset (a PATCH)
    REGISTER = "register"  # register a publication's DOI (its content unchanged)
    NOOP = "no-op"


class FileAction(StrEnum):
    KEEP = "keep"  # already in SciCat (or downloaded) and unchanged
    ADD = "add"  # to be uploaded and listed (new dataset, append, or download)
    CHANGED = "changed"  # differs from what SciCat lists (reason for a replace)
    REMOVED = "removed"  # listed in SciCat, gone from the manifest (reason for a replace)


class AttachmentAction(StrEnum):
    KEEP = "keep"
    ADD = "add"
    UPDATE = "update"  # same caption, new image: PATCH the thumbnail


@dataclass(frozen=True)
class FieldChange:
    """One field: ``before`` (SciCat now, None if absent) -> ``after`` (the manifest)."""

    name: str
    before: Json
    after: Json
    after_unknown: bool = False  # "known after apply": refers to an entry not created yet
    drift: bool = False  # SciCat was changed outside scisync since the last apply


def _packed_checksum(checksum: str | None) -> tuple[str | None, bytes | str | None]:
    """(algorithm, digest bytes) of an ``alg:hex`` checksum, else (None, as given)."""
    if checksum is None:
        return None, None
    algorithm, separator, value = checksum.partition(":")
    digest = pack_hex(value) if separator else checksum
    if isinstance(digest, bytes):
        return sys.intern(algorithm), digest
    return None, checksum


class FileChange:
    """One file of a dataset or download.

    Immutable and compared by value like a frozen dataclass.  A plan holds one per file,
    by the million: ``local`` and ``remote`` are kept as their folder (one string per
    dataset, shared) and rebuilt from it and ``path`` when asked for, which saves the two
    strings of about 100 B each per file (issue 13, docs/performance.md); ``checksum``
    is kept as its algorithm (interned) and the digest's bytes when it is ``alg:hex``.
    """

    __slots__ = (
        "_algorithm",
        "_checksum",
        "_joined",
        "_local",
        "_remote",
        "action",
        "blake3",
        "needs_transfer",
        "path",
        "size",
    )

    path: str  # relative to the source folder (datasets) or target folder (downloads)
    action: FileAction
    size: int
    blake3: str | None  # None for downloads not yet pinned by the lockfile
    needs_transfer: bool  # upload: not on storage yet; download: not present locally
    _local: str | None  # the local path's folder when _joined & 1, else the whole path
    _remote: str | None  # the same for the remote path, with _joined & 2
    _joined: int
    _algorithm: str | None  # of the checksum, when _checksum holds its digest's bytes
    _checksum: bytes | str | None  # else the checksum text as given

    def __init__(
        self,
        path: str,
        action: FileAction,
        size: int,
        blake3: str | None,
        checksum: str | None,
        local: str | None = None,  # absolute local path (upload source / download target)
        remote: str | None = None,  # absolute path on the storage
        needs_transfer: bool = False,
    ) -> None:
        local_part, local_joined = fold(local, path)
        remote_part, remote_joined = fold(remote, path)
        setattr_ = object.__setattr__
        setattr_(self, "path", path)
        setattr_(self, "action", action)
        setattr_(self, "size", size)
        setattr_(self, "blake3", blake3)
        algorithm, digest = _packed_checksum(checksum)
        setattr_(self, "_algorithm", algorithm)
        setattr_(self, "_checksum", digest)
        setattr_(self, "_local", local_part)
        setattr_(self, "_remote", remote_part)
        setattr_(self, "_joined", local_joined | (remote_joined << 1))
        setattr_(self, "needs_transfer", needs_transfer)

    @property
    def checksum(self) -> str | None:
        """``"<alg>:<hex>"`` as SciCat holds it (or will), None when there is none."""
        if self._algorithm is None:
            return cast(str | None, self._checksum)
        return f"{self._algorithm}:{unpack_hex(cast(bytes, self._checksum))}"

    @property
    def local(self) -> str | None:
        return unfold(self._local, bool(self._joined & 1), self.path)

    @property
    def remote(self) -> str | None:
        return unfold(self._remote, bool(self._joined & 2), self.path)

    def _values(self) -> tuple[object, ...]:
        return (
            self.path,
            self.action,
            self.size,
            self.blake3,
            self.checksum,
            self.local,
            self.remote,
            self.needs_transfer,
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not FileChange:
            return NotImplemented
        assert isinstance(other, FileChange)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        names = ("path", "action", "size", "blake3", "checksum", "local", "remote")
        shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, self._values(), strict=False))
        return f"FileChange({shown}, needs_transfer={self.needs_transfer!r})"


class PackedFileChanges(TupleLike[FileChange]):
    """A list of FileChanges kept as columns; each FileChange is made when read.

    A pull plans a FileChange for every file of every dataset before it downloads any
    (a million, at ~240 B each with their path and checksum); kept as columns (paths in
    one string, sizes in an array, digests as bytes, the local and remote folders once)
    they cost about a third of that (issue 13).  Exact: a path that is not its folder +
    ``/`` + ``path`` is kept whole.  Compares and hashes like the tuple of its changes.
    """

    __slots__ = (
        "_actions",
        "_algorithms",
        "_blake3",
        "_checksums",
        "_local",
        "_paths",
        "_remote",
        "_sizes",
        "_transfers",
    )

    _ACTIONS = tuple(FileAction)

    def __init__(self, changes: Sequence[FileChange]) -> None:
        self._paths = PackedStrings([c.path for c in changes])
        self._sizes = PackedInts([c.size for c in changes])
        self._actions = bytes(self._ACTIONS.index(c.action) for c in changes)
        self._transfers = bytes(c.needs_transfer for c in changes)
        self._blake3 = hex_column([c.blake3 for c in changes])  # a first pull: all None
        split = [_split_checksum(c.checksum) for c in changes]
        self._algorithms = repeated([algorithm for algorithm, _ in split])
        self._checksums = hex_column([value for _, value in split])
        self._local = _Folders([c.local for c in changes], self._paths)
        self._remote = _Folders([c.remote for c in changes], self._paths)

    def _item(self, index: int) -> FileChange:
        path = self._paths[index]
        algorithm, value = self._algorithms[index], self._checksums[index]
        return FileChange(
            path=path,
            action=self._ACTIONS[self._actions[index]],
            size=self._sizes[index],
            blake3=self._blake3[index],
            checksum=value if algorithm is None else f"{algorithm}:{value}",
            local=self._local.full(index, path),
            remote=self._remote.full(index, path),
            needs_transfer=bool(self._transfers[index]),
        )

    def __iter__(self) -> Iterator[FileChange]:
        # Read whole, column by column (each iterates in C), not value by value through
        # index checks: the executor and the lockfile read a download's files a few times.
        actions, transfers = self._ACTIONS, self._transfers
        local, remote = self._local, self._remote
        for index, (path, size, action, blake3, algorithm, value) in enumerate(
            zip(
                self._paths,
                self._sizes,
                self._actions,
                self._blake3,
                self._algorithms,
                self._checksums,
                strict=True,
            )
        ):
            yield FileChange(
                path=path,
                action=actions[action],
                size=size,
                blake3=blake3,
                checksum=value if algorithm is None else f"{algorithm}:{value}",
                local=local.full(index, path),
                remote=remote.full(index, path),
                needs_transfer=bool(transfers[index]),
            )

    def __len__(self) -> int:
        return len(self._paths)


def _split_checksum(checksum: str | None) -> tuple[str | None, str | None]:
    """``"alg:hex"`` -> (alg, hex); anything else -> (None, as given)."""
    if checksum is None:
        return None, None
    algorithm, separator, value = checksum.partition(":")
    return (sys.intern(algorithm), value) if separator else (None, checksum)


class _Folders:
    """Full paths that are mostly one folder + ``/`` + the file's path: the folder kept
    once, any other value (None, or another folder) kept whole by index."""

    __slots__ = ("_folder", "_odd")

    def __init__(self, full: Sequence[str | None], paths: Sequence[str]) -> None:
        folder: str | None = None
        odd: dict[int, str | None] = {}
        for index, (value, path) in enumerate(zip(full, paths, strict=True)):
            kept, joined = fold(value, path)
            if joined and folder in (None, kept):
                folder = kept
            else:
                odd[index] = value
        self._folder = folder
        self._odd = odd or None

    def full(self, index: int, path: str) -> str | None:
        odd = self._odd
        if odd is not None and index in odd:
            return odd[index]
        return f"{self._folder}/{path}"


@dataclass(frozen=True)
class AttachmentChange:
    caption: str
    action: AttachmentAction
    aid: str
    image: str  # absolute local path of the image
    blake3: str
    thumbnail_sha256: str  # sha256 of the data URI sent to SciCat


class ConflictKind(StrEnum):
    """Why an entry cannot be brought to what the manifest says (one per root cause)."""

    FILES_CHANGED = "files-changed"  # published files changed or removed; policy refuses
    FILES_ADDED = "files-added"  # files added to a dataset that has files; policy refuses
    TYPE_CHANGED = "type-changed"  # SciCat cannot change a dataset's type
    RECORD_GONE = "record-gone"  # the lockfile's pid is not (readable) in SciCat
    DUPLICATE_MARKER = "duplicate-marker"  # several datasets carry the entry's marker
    STALE_REFERENCE = "stale-reference"  # a reference to a pid that is not known or readable
    UNSAFE_PATH = "unsafe-path"  # a catalogue file path that would escape its folder
    LOCK_MISMATCH = "lock-mismatch"  # --locked: the catalogue moved away from scisync.lock
    LOCAL_MODIFIED = "local-modified"  # a downloaded file was modified locally
    MALFORMED_RECORD = "malformed-record"  # a catalogue record scisync cannot read safely
    OUTSIDE_STORAGE_ROOTS = "outside-storage-roots"  # sourceFolder outside the storage roots
    REGISTERED_CHANGED = "registered-changed"  # a registered DOI's record differs from the manifest


@dataclass(frozen=True)
class Conflict:
    """One reason an entry's change is refused: listed in the plan under its entry.

    A plan with conflicts is shown in full (every conflict at once), exits 1 and cannot
    be applied.  ``what`` says what is wrong, ``hint`` what to do; ``where`` is the
    manifest location of the entry when there is one.
    """

    kind: ConflictKind
    address: str  # "<kind>.<key>" of the entry it belongs to
    what: str
    hint: str
    where: str | None = None

    def as_problem(self) -> Problem:
        return Problem(what=f"{self.address}: {self.what}", where=self.where, hint=self.hint)


@dataclass(frozen=True)
class ResourceChange:
    """What happens to one manifest entry (or one forgotten lockfile entry)."""

    kind: ResourceKind
    key: str
    action: Action
    reason: str | None = None
    pid: str | None = None  # existing pid / sample id; None when known after apply
    marker: str | None = None
    source_folder: str | None = None
    field_changes: tuple[FieldChange, ...] = ()
    # A tuple, or a view: a new dataset's uploads made from its LocalFiles (UploadFiles),
    # a download's files kept as columns (PackedFileChanges).
    files: Sequence[FileChange] = ()
    attachments: tuple[AttachmentChange, ...] = ()
    depends_on: tuple[str, ...] = ()  # addresses of changes that must happen first
    body: JsonObject | None = None  # full document for create/replace (refs as {"$ref": ...})
    patch: JsonObject | None = None  # merge-patch body for update (refs as {"$ref": ...})
    fields_digest: str | None = None  # recorded in the lockfile after apply
    supersedes: tuple[str, ...] = ()
    checksum_algorithm: str | None = None
    register: bool = False  # publications: register the DOI after creating/updating it

    @property
    def address(self) -> str:
        return f"{self.kind.value}.{self.key}"

    @property
    def has_changes(self) -> bool:
        return self.action is not Action.NOOP

    @property
    def registers(self) -> bool:
        """Whether applying it registers a publication's DOI (alone or after a write)."""
        return self.action is Action.REGISTER or (self.register and self.has_changes)


@dataclass(frozen=True)
class Fingerprint:
    """Digests of the inputs a plan was made from; a saved plan whose inputs moved on is refused."""

    manifest: str
    lockfile: str
    observed: str


@dataclass(frozen=True)
class Plan:
    project: str
    changes: tuple[ResourceChange, ...]
    fingerprint: Fingerprint
    format_version: int = PLAN_FORMAT_VERSION
    scisync_version: str = ""
    warnings: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()  # all of them, in the order of the changes

    @property
    def has_changes(self) -> bool:
        return any(change.has_changes for change in self.changes)

    @property
    def has_conflicts(self) -> bool:
        return bool(self.conflicts)

    def conflicts_of(self, address: str) -> tuple[Conflict, ...]:
        return tuple(c for c in self.conflicts if c.address == address)

    def counts(self) -> Mapping[Action, int]:
        counted: dict[Action, int] = {}
        for change in self.changes:
            counted[change.action] = counted.get(change.action, 0) + 1
        return counted

    def by_address(self) -> Mapping[str, ResourceChange]:
        return {change.address: change for change in self.changes}

    def transfer_bytes(self, kind: ResourceKind) -> int:
        """Bytes to upload (kind=DATASET) or download (kind=DOWNLOAD)."""
        return sum(
            file.size
            for change in self.changes
            if change.kind is kind
            for file in change.files
            if file.needs_transfer
        )
