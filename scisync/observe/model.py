"""Observed state: what SciCat and the storage hold now, as plain frozen data.

Produced read-only by :mod:`scisync.observe.observe`; consumed by the pure planner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from scisync._util.columns import PackedInts, PackedStrings, TupleLike, hex_column, repeated
from scisync._util.jsontypes import Json
from scisync.desired.ids import MARKER_FIELD
from scisync.storage.base import RemotePath, RemoteStat


@dataclass(frozen=True, slots=True)  # one per file, by the million
class ObservedFile:
    """One entry of a dataset's origdatablocks (``dataFileList``)."""

    path: str  # relative to the dataset's sourceFolder, as SciCat holds it
    size: int
    chk: str | None = None
    chk_alg: str | None = None  # normalised algorithm name (or None if the block had none)


class ObservedFiles(TupleLike[ObservedFile]):
    """A dataset's file list kept as columns; each ObservedFile is made when read.

    A pull of a million files held an ObservedFile, its path and its checksum as objects
    of their own for every file while the plan was made (~230 B a file); as columns
    (the paths in one string, the sizes in an array, the checksums as digest bytes, an
    algorithm per file only when they differ) it is about a third of that (issue 13).
    Exact: every value read back is the one given.  Compares and hashes like the tuple.
    """

    __slots__ = ("_algorithms", "_checksums", "_paths", "_sizes")

    def __init__(self, files: Iterable[ObservedFile] = ()) -> None:
        listed = files if isinstance(files, (list, tuple)) else list(files)
        self._paths = PackedStrings([f.path for f in listed])
        self._sizes = PackedInts([f.size for f in listed])
        self._checksums = hex_column([f.chk for f in listed])
        # One algorithm for all (the usual case: one per block, one block) is kept once.
        self._algorithms = repeated([f.chk_alg for f in listed])

    @property
    def paths(self) -> Sequence[str]:
        """The files' paths, without making an ObservedFile per file."""
        return self._paths

    def _item(self, index: int) -> ObservedFile:
        return ObservedFile(
            path=self._paths[index],
            size=self._sizes[index],
            chk=self._checksums[index],
            chk_alg=self._algorithms[index],
        )

    def __len__(self) -> int:
        return len(self._paths)


@dataclass(frozen=True)
class ObservedAttachment:
    """One attachment of a dataset; the thumbnail itself is reduced to a digest."""

    id: str
    caption: str
    thumbnail_sha256: str


@dataclass(frozen=True)
class ObservedDataset:
    """A dataset as SciCat returned it (server fields kept; the planner ignores them)."""

    pid: str
    fields: Mapping[str, Json]  # the whole document as returned, camelCase
    files: Sequence[ObservedFile] = ()  # a tuple, or (from SciCat) ObservedFiles
    block_ids: tuple[str, ...] = ()
    attachments: tuple[ObservedAttachment, ...] = ()
    # Why the record is malformed (scisync.scicat.records), empty when it is not; the
    # planner refuses to act on a dataset with problems.  Malformed files are not in files.
    problems: tuple[str, ...] = ()
    # One "<id> <updatedAt> <size>" per origdatablock: a block rewritten in SciCat moves
    # its entry even when the dataset's own summary stays the same.
    block_stamps: tuple[str, ...] = ()
    # False for a summary (blocks fetched without their dataFileList, for the settled
    # rule): ``files`` is then empty, not "no files".
    files_listed: bool = True

    @property
    def marker(self) -> str | None:
        metadata = self.fields.get("scientificMetadata")
        if isinstance(metadata, dict):
            value = metadata.get(MARKER_FIELD)
            if isinstance(value, str):
                return value
        return None


@dataclass(frozen=True)
class ObservedSample:
    sample_id: str
    fields: Mapping[str, Json]


@dataclass(frozen=True)
class ObservedPublication:
    """A PublishedData record as SciCat returned it; ``doi`` is its id."""

    doi: str
    status: str  # private | public | registered | amended
    fields: Mapping[str, Json]  # the whole document, camelCase

    @property
    def is_registered(self) -> bool:
        """Registered or amended: SciCat refuses every change of its content."""
        return self.status in ("registered", "amended")


@dataclass(frozen=True)
class ObservedState:
    """Everything observed for one plan.

    ``by_marker`` maps a marker to every dataset carrying it (more than one means two
    earlier runs raced; the planner reports it).  ``by_pid`` holds datasets looked up by
    pid (from the lockfile, or named by downloads).  ``missing_pids`` were looked up and
    not found (or not readable).  ``storage`` holds the remote files found under the
    managed datasets' source folders.
    """

    by_marker: Mapping[str, tuple[ObservedDataset, ...]] = field(default_factory=dict)
    by_pid: Mapping[str, ObservedDataset] = field(default_factory=dict)
    missing_pids: frozenset[str] = frozenset()
    samples: Mapping[str, ObservedSample] = field(default_factory=dict)
    storage: Mapping[RemotePath, RemoteStat] = field(default_factory=dict)
    # download key -> the pids its query matched (sorted; the datasets are in by_pid).
    # A query download pinned by the lockfile and planned --locked is not queried.
    queried: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # marker -> every PublishedData record carrying it in its metadata (found by marker)
    publications: Mapping[str, tuple[ObservedPublication, ...]] = field(default_factory=dict)
