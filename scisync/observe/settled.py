"""Settled datasets: the one rule that lets a no-op plan skip a dataset's files.

A dataset is *settled* when its **settled stamp** equals the one recorded the last time
a full plan found it unchanged.  The stamp digests every input its plan reads:

- the local stamp (:mod:`scisync.desired.stamps`: its manifest entry and the ``stat`` of
  every local file its globs can reach and of its attachment images);
- its scisync.lock entry (pid, fields digest, files, attachments, lineage);
- its SciCat record's summary: pid, ``updatedAt``, ``size``, ``numberOfFiles``, each
  origdatablock's id, ``updatedAt``, size and file count, the attachments (id, caption,
  thumbnail digest) and any problem with the record;
- the pids its references resolve to (a sample's id; a referenced dataset's lockfile pid,
  and that dataset must be settled too);
- the scisync version and the manifest's project and storage section.

A settled dataset is planned as a no-op without globbing, hashing or comparing its files
(the planner keeps its lockfile entry as it is); anything else takes the full path.  The
stamps are recorded in ``.scisync/settled.json`` (machine-local, like the hash cache:
inodes and ctimes mean nothing elsewhere) after each plan, for the datasets the full
path found unchanged with a lockfile entry the apply would write back unchanged.
Losing or damaging the file only costs one full plan.

A recorded stamp vouches only when it is not *racy* (:mod:`scisync._util.racy`): every
local file's mtime and ctime must be older than the moment its walk began, less the
margin.  A file rewritten in place with its size within its timestamps' clock tick leaves
the same stamp; such a dataset is planned in full, and recorded again with the time of
that plan's walk.  Equal stamps mean equal stats, so the latest mtime/ctime is the
current walk's; only the time of the recording walk is stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scisync._util import racy
from scisync._util.jsontypes import Json
from scisync._util.version import VERSION
from scisync.desired.build import storage_root, storage_roots
from scisync.desired.ids import derived_sample_id, make_marker, rows_digest
from scisync.desired.stamps import LocalStamp
from scisync.lock.model import LockedDataset, Lockfile
from scisync.manifest.model import DatasetSpec, KeyRef, Manifest
from scisync.observe.model import ObservedDataset
from scisync.storage.base import RemotePath

SETTLED_FILE = "settled.json"
_FORMAT = 2  # 1 had no recorded times: its stamps may be racy, so it is read as none
_MAX_BYTES = 64 * 1024 * 1024  # a damaged or hostile file is dropped, never parsed whole


def lock_entry_rows(entry: LockedDataset) -> Iterable[Iterable[object]]:
    yield ["lock", entry.pid, entry.fields_digest, *entry.supersedes]
    for attachment in entry.attachments:
        yield ["attachment", attachment.caption, attachment.id, attachment.blake3]
    if entry.files_digest:
        yield ["files", entry.files_digest]  # as read from scisync.lock: no walk
        return
    for file in entry.files:
        yield [file.path, file.size, file.blake3, file.checksum or ""]


def record_rows(record: ObservedDataset) -> Iterable[Iterable[object]]:
    fields = record.fields
    yield [
        "record",
        record.pid,
        *(_scalar(fields.get(name)) for name in ("updatedAt", "size", "numberOfFiles", "type")),
    ]
    yield ["blocks", *record.block_stamps]
    for attachment in record.attachments:
        yield ["attachment", attachment.id, attachment.caption, attachment.thumbnail_sha256]
    yield ["problems", *record.problems]


def _scalar(value: Json) -> str:
    return json.dumps(value, sort_keys=True)


def settled_stamp(
    context: str,
    local: str,
    entry: LockedDataset,
    record: ObservedDataset,
    references: Iterable[tuple[str, str]] = (),
) -> str:
    """The dataset's settled stamp (see the module doc); *context* digests the manifest
    parts every dataset's plan reads (project, storage), *references* the pids its
    references resolve to."""
    return rows_digest(
        [
            ["scisync", VERSION, context, local],
            *lock_entry_rows(entry),
            *record_rows(record),
            *(["reference", address, pid] for address, pid in references),
        ]
    )


@dataclass(frozen=True)
class Recorded:
    """A settled stamp as recorded: the stamp, and when the walk it came from began."""

    stamp: str
    walked_ns: int


@dataclass(frozen=True)
class Candidate:
    """A dataset that may be settled: its current stamp, the source folder its SciCat
    record names, the addresses of the datasets it references, and its local stamp's
    walk time and latest mtime/ctime (for the racy rule)."""

    stamp: str
    source_folder: RemotePath
    needs: frozenset[str] = frozenset()
    walked_ns: int = 0
    newest_ns: int = 0

    @property
    def recorded(self) -> Recorded:
        return Recorded(self.stamp, self.walked_ns)


class SettledStamps:
    """The recorded stamps, ``key -> Recorded``, read from and written to one JSON file."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.stamps: dict[str, Recorded] = self._load()

    def _load(self) -> dict[str, Recorded]:
        try:
            if self.file.stat().st_size > _MAX_BYTES:
                return {}
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none yet, or damaged: every dataset is planned in full once
        if not isinstance(data, dict) or data.get("version") != _FORMAT:
            return {}
        stamps = data.get("datasets")
        if not isinstance(stamps, dict):
            return {}
        return {
            key: Recorded(value[0], value[1])
            for key, value in stamps.items()
            if isinstance(key, str)
            and isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], str)
            and type(value[1]) is int
        }

    def save(self, stamps: Mapping[str, Recorded]) -> None:
        """Record *stamps* (replacing all), atomically and only when they changed; a
        failure to write is not an error (the next plan is a full one)."""
        if dict(stamps) == self.stamps:
            return
        datasets = {key: [r.stamp, r.walked_ns] for key, r in sorted(stamps.items())}
        text = json.dumps({"version": _FORMAT, "datasets": datasets})
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.file.name}.", dir=self.file.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
                os.replace(tmp, self.file)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        except OSError:
            return
        self.stamps = dict(stamps)


def manifest_context(manifest: Manifest) -> str:
    """The manifest parts every dataset's plan reads besides its own entry."""
    return rows_digest(
        [[manifest.project, repr(storage_root(manifest))], [repr(storage_roots(manifest))]]
    )


def current_stamps(
    manifest: Manifest,
    recorded: Lockfile,
    local: Mapping[str, LocalStamp | None],
    found_by_marker: Mapping[str, Sequence[ObservedDataset]],
    resuming: Collection[str] = (),
) -> dict[str, Candidate]:
    """The datasets that can be settled at all, with their stamps: a local stamp, a
    lockfile entry whose pid the marker query found (a well-formed record with a source
    folder), every dataset it references in scisync.lock, and no interrupted file
    registration."""
    context = manifest_context(manifest)
    candidates: dict[str, Candidate] = {}
    for spec in manifest.datasets:
        entry = recorded.datasets.get(spec.key)
        stamp = local.get(spec.key)
        if entry is None or stamp is None or f"dataset.{spec.key}" in resuming:
            continue
        found = found_by_marker.get(make_marker(manifest.project, spec.key), ())
        record = next((r for r in found if r.pid == entry.pid), None)
        if record is None or record.problems:
            continue
        folder = record.fields.get("sourceFolder")
        references = _references(manifest.project, spec, recorded)
        if not isinstance(folder, str) or not folder or references is None:
            continue
        rows = [*references.items()]
        candidates[spec.key] = Candidate(
            stamp=settled_stamp(context, stamp.digest, entry, record, rows),
            source_folder=RemotePath(folder),
            needs=frozenset(key for key in references if key.startswith("dataset.")),
            walked_ns=stamp.walked_ns,
            newest_ns=stamp.newest_ns,
        )
    return candidates


def _references(project: str, spec: DatasetSpec, recorded: Lockfile) -> dict[str, str] | None:
    """address -> pid of each manifest entry the dataset's body references, as the plan
    will resolve it when the entry is unchanged (a sample's id is chosen by scisync; a
    dataset's is its lockfile pid); None when a referenced dataset has no lockfile entry."""
    references: dict[str, str] = {}
    if isinstance(spec.sample, KeyRef):
        references[f"sample.{spec.sample.key}"] = derived_sample_id(project, spec.sample.key)
    for ref in spec.input_datasets:
        if isinstance(ref, KeyRef):
            entry = recorded.datasets.get(ref.key)
            if entry is None:
                return None
            references[f"dataset.{ref.key}"] = entry.pid
    return references


def settled_datasets(
    candidates: Mapping[str, Candidate], known: Mapping[str, Recorded], now: int
) -> dict[str, RemotePath]:
    """THE RULE: key -> source folder of every settled dataset: its stamp is the one
    recorded, not racy at *now* (:func:`scisync._util.racy.stamp_vouches`: its files
    changed last more than the margin before the recording walk began), and every
    dataset it references is settled too (so it keeps its pid)."""
    settled = {
        key
        for key, c in candidates.items()
        if (recorded := known.get(key)) is not None
        and recorded.stamp == c.stamp
        and racy.stamp_vouches(c.newest_ns, recorded.walked_ns, now)
    }
    while True:
        addresses = {f"dataset.{key}" for key in settled}
        unsure = {key for key in settled if not candidates[key].needs <= addresses}
        if not unsure:
            return {key: candidates[key].source_folder for key in sorted(settled)}
        settled -= unsure
