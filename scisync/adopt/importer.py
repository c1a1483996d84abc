"""``scisync import``: the steps that bring an existing SciCat dataset under a manifest.

An import is three plain pieces that :func:`scisync.api.import_dataset` runs in order:

1. :func:`draft_import` checks the key and the dataset, builds the manifest entry
   (:mod:`scisync.adopt.entry`) and proves that the manifest with it still loads,
   writing nothing;
2. :func:`marking_plan` is the adopt plan: one ``mark`` change that sets scisync's
   marker (``scientificMetadata.scisync_marker``) on the dataset, performed, journaled
   and resumed by the applier like any other change.  The marker comes first: a manifest
   entry without a marked dataset would plan a *create*;
3. :func:`write_entry` appends the entry to the manifest file atomically, and the normal
   plan restricted to the new key (:func:`adoption`) records the dataset in
   ``scisync.lock`` through the normal apply, when adopting it changes nothing in SciCat.

An import interrupted after the marker was set is simply run again: the dataset then
carries the marker, so the adopt plan has nothing to do.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from scisync._util.atomicfile import write_atomic
from scisync._util.jsontypes import Json
from scisync.adopt.entry import append_entry, dataset_entry
from scisync.desired.ids import MARKER_FIELD, make_marker
from scisync.errors import ApiError, ManifestError, PlanError
from scisync.manifest import load_manifest
from scisync.manifest.model import Manifest
from scisync.manifest.schema import KEY_PATTERN
from scisync.observe.model import ObservedDataset
from scisync.plan.model import (
    Action,
    FieldChange,
    Fingerprint,
    Plan,
    ResourceChange,
    ResourceKind,
)

MARKING_INPUTS = "import"
"""The marking plan's fingerprint: it is made and applied at once, never saved."""


class DatasetLookup(Protocol):
    """The SciCat reads an import needs (:class:`scisync.scicat.client.ScicatClient`)."""

    def get_dataset(self, pid: str, *, context: str | None = None) -> ObservedDataset | None: ...

    def find_datasets_by_markers(
        self, markers: Sequence[str], *, context: str | None = None
    ) -> Mapping[str, Sequence[ObservedDataset]]: ...


@dataclass(frozen=True)
class ImportResult:
    """What :func:`scisync.api.import_dataset` did."""

    key: str
    pid: str
    manifest_path: Path
    marker: str
    entry: Mapping[str, Json]  # the manifest entry written (plain data)
    marker_set: bool  # False when the dataset already carried this marker
    adopted: bool  # recorded in the lockfile by a plan/apply restricted to the key
    lock_written: bool
    pending: tuple[FieldChange, ...] = ()  # why it was not adopted: changes apply would make


@dataclass(frozen=True)
class ImportDraft:
    """An import checked and prepared, nothing written yet."""

    key: str
    pid: str
    manifest_path: Path
    marker: str
    entry: Mapping[str, Json]
    text: str  # the manifest file's new text, the entry appended
    marker_set: bool  # the dataset does not carry the marker yet

    def result(
        self, *, adopted: bool, lock_written: bool, pending: tuple[FieldChange, ...] = ()
    ) -> ImportResult:
        return ImportResult(
            key=self.key,
            pid=self.pid,
            manifest_path=self.manifest_path,
            marker=self.marker,
            entry=self.entry,
            marker_set=self.marker_set,
            adopted=adopted,
            lock_written=lock_written,
            pending=pending,
        )


def _check_key(manifest: Manifest, key: str, manifest_path: Path) -> None:
    if not re.fullmatch(KEY_PATTERN, key):
        raise ManifestError(
            f"{key!r} is not a valid key",
            where="--key",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    taken = {
        *(d.key for d in manifest.datasets),
        *(s.key for s in manifest.samples),
        *(d.key for d in manifest.downloads),
    }
    if key in taken:
        raise ManifestError(
            f"key {key!r} already exists in the manifest; refusing to import a second entry "
            "under it",
            where=str(manifest_path),
            hint="choose another --key, or remove the existing entry first",
        )


def _check_marker(catalog: DatasetLookup, dataset: ObservedDataset, marker: str) -> None:
    if dataset.marker is not None and dataset.marker != marker:
        raise PlanError(
            f"dataset {dataset.pid} is already managed as {dataset.marker!r} (its "
            f"scientificMetadata.{MARKER_FIELD}); importing it as {marker!r} would take it "
            "from that manifest",
            where=f"dataset {dataset.pid}",
            hint="import it in the project that manages it, or remove the marker in SciCat first",
        )
    holders = catalog.find_datasets_by_markers([marker]).get(marker, [])
    others = sorted(found.pid for found in holders if found.pid != dataset.pid)
    if others:
        raise PlanError(
            f"marker {marker!r} is already on dataset(s) {', '.join(others)}",
            where=f"dataset {dataset.pid}",
            hint="import under another --key; a marker must name exactly one dataset",
        )


def _check_loads(
    manifest: Manifest,
    manifest_path: Path,
    text: str,
    variables: Mapping[str, str],
    var_files: Sequence[Path],
) -> None:
    """Load the manifest as it would be after the import; raise its problems, write nothing."""
    probe = manifest_path.parent / f".{manifest_path.name}.import-{secrets.token_hex(4)}.yaml"
    probe.write_text(text, encoding="utf-8")
    try:
        sources = [probe if p == manifest_path else p for p in manifest.sources]
        load_manifest(sources, variables=variables, var_files=var_files)
    except ManifestError as error:
        raise ManifestError(
            "the imported dataset's metadata does not make a valid manifest entry; "
            "nothing was written or changed",
            where=str(manifest_path),
            hint="fix the values below in SciCat (or import into a manifest without "
            "conflicting settings), then import again",
            problems=error.problems,
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)


def draft_import(
    manifest: Manifest,
    catalog: DatasetLookup,
    pid: str,
    key: str,
    *,
    manifest_path: Path,
    variables: Mapping[str, str],
    var_files: Sequence[Path],
    where: str,
) -> ImportDraft:
    """Check that *pid* can be imported under *key* into *manifest_path*; write nothing.

    *where* names the SciCat server in the message for a pid it does not have.
    """
    _check_key(manifest, key, manifest_path)
    dataset = catalog.get_dataset(pid, context=f"importing {pid}")
    if dataset is None:
        raise ApiError(
            f"SciCat has no dataset {pid!r} that you can read",
            where=where,
            hint="check the pid (as SciCat shows it, e.g. 20.500.12269/...) and your token",
        )
    marker = make_marker(manifest.project, key)
    _check_marker(catalog, dataset, marker)
    entry = dataset_entry(key, dataset)
    text = append_entry(manifest_path.read_text(encoding="utf-8"), entry)
    _check_loads(manifest, manifest_path, text, variables, var_files)
    return ImportDraft(
        key=key,
        pid=pid,
        manifest_path=manifest_path,
        marker=marker,
        entry=entry,
        text=text,
        marker_set=dataset.marker != marker,
    )


def marking_plan(project: str, draft: ImportDraft) -> Plan:
    """The adopt plan: set the marker on the dataset, or nothing when it carries it."""
    change = ResourceChange(
        kind=ResourceKind.DATASET,
        key=draft.key,
        action=Action.MARK,
        reason=f"imported: scisync finds {draft.pid} by its marker from now on",
        pid=draft.pid,
        marker=draft.marker,
        patch={"scientificMetadata": {MARKER_FIELD: draft.marker}},
    )
    fingerprint = Fingerprint(MARKING_INPUTS, MARKING_INPUTS, MARKING_INPUTS)
    return Plan(
        project=project, changes=(change,) if draft.marker_set else (), fingerprint=fingerprint
    )


def write_entry(draft: ImportDraft) -> None:
    """Append the entry to the manifest file (temp file, then rename)."""
    write_atomic(draft.manifest_path, draft.text.encode("utf-8"))


def adoption(plan: Plan, draft: ImportDraft) -> tuple[Plan | None, tuple[FieldChange, ...]]:
    """The plan (restricted to the new key) to apply, or None and what it would change.

    The dataset is recorded only when adopting it changes nothing in SciCat; if the
    manifest's ``defaults:`` would add or change fields, the caller applies nothing.
    """
    change = plan.by_address().get(f"{ResourceKind.DATASET.value}.{draft.key}")
    if change is None or change.pid != draft.pid:
        raise PlanError(
            f"the plan for {draft.key!r} does not adopt dataset {draft.pid}",
            where=str(draft.manifest_path),
            hint=f"run `scisync plan --target {draft.key}` to see why",
        )
    quiet = (
        change.action in (Action.ADOPT, Action.NOOP)
        and not change.field_changes
        and not any(file.needs_transfer for file in change.files)
        and all(a.action.value == "keep" for a in change.attachments)
    )
    if not quiet:
        return None, change.field_changes
    return plan, ()
