"""Planning one dataset: find the one SciCat holds for it, then create, replace, update,
adopt or leave it, refusing what its files policy forbids."""

from __future__ import annotations

from collections.abc import Sequence

from scisync._util.jsontypes import JsonObject
from scisync.desired.ids import SUPERSEDES_FIELD
from scisync.desired.model import DesiredDataset
from scisync.lock.model import LockedDataset
from scisync.manifest.model import FilesPolicy
from scisync.observe.model import ObservedDataset
from scisync.plan.attachments import attachment_changes
from scisync.plan.confine import uploads_allowed
from scisync.plan.context import PlanContext
from scisync.plan.files import (
    existing_file_changes,
    few,
    file_state,
    files_count,
    files_reason,
    upload_changes,
)
from scisync.plan.malformed import refuse_malformed
from scisync.plan.model import (
    Action,
    AttachmentAction,
    ConflictKind,
    FieldChange,
    FileAction,
    ResourceChange,
    ResourceKind,
)
from scisync.plan.references import UNKNOWN, depends_on, diff_fields, resolve


def plan_dataset(ctx: PlanContext, dataset: DesiredDataset) -> ResourceChange:
    address = f"dataset.{dataset.key}"
    if dataset.settled:
        return _settled(ctx, dataset)
    where = str(dataset.spec.location) if dataset.spec.location else None
    locked = ctx.recorded.datasets.get(dataset.key)
    current = _current_dataset(ctx, dataset)
    if current is _GONE:
        # A conflict says why; the entry is shown with it and nothing is planned for it.
        ctx.pids[address] = locked.pid if locked else None
        return ResourceChange(
            kind=ResourceKind.DATASET,
            key=dataset.key,
            action=Action.NOOP,
            pid=locked.pid if locked else None,
            marker=dataset.marker,
        )
    if current is None:
        return _create_change(ctx, dataset, Action.CREATE, None)

    ctx.pids[address] = current.pid
    if refuse_malformed(ctx, current, address, where):
        return _noop(dataset, current)
    if current.fields.get("type") not in (None, dataset.spec.type):
        ctx.conflict(
            ConflictKind.TYPE_CHANGED,
            address,
            f"{current.pid} is of type {current.fields.get('type')!r} in SciCat but "
            f"{dataset.spec.type!r} in the manifest; SciCat cannot change a type",
            "restore the type, or give the entry a new key to create a new dataset",
            where,
        )
        return _noop(dataset, current)

    folder = str(current.fields.get("sourceFolder") or dataset.source_folder.as_posix())
    if dataset.spec.files:
        added, changed, removed = file_state(dataset, current)
    else:
        # No `files:` in the manifest: the file list is not managed here (an imported
        # dataset, or one whose files another tool registers), so it is left alone.
        added, changed, removed = [], [], []
    # A dataset scisync created but whose file list was never (fully) registered is an
    # interrupted apply: completing the registration changes nothing published.
    fill_empty = not current.files or address in ctx.options.resuming
    instead = _files_policy(
        ctx, dataset, current, locked, where, (added, changed, removed), fill_empty
    )
    if instead is not None:
        return instead
    return _update_change(ctx, dataset, current, locked, folder, added)


def _files_policy(
    ctx: PlanContext,
    dataset: DesiredDataset,
    current: ObservedDataset,
    locked: LockedDataset | None,
    where: str | None,
    state: tuple[list[str], list[str], list[str]],
    fill_empty: bool,
) -> ResourceChange | None:
    """What changed files lead to instead of an update (a replacement, or a refusal
    recorded as conflicts, every one found); None when the update may go ahead."""
    added, changed, removed = state
    address = f"dataset.{dataset.key}"
    if (changed or removed) and dataset.spec.on_files_changed is FilesPolicy.REPLACE:
        why = files_reason(changed, removed)
        supersedes = (*(locked.supersedes if locked else ()), current.pid)
        return _create_change(ctx, dataset, Action.REPLACE, why, supersedes=supersedes)
    refused = False
    if changed or removed:
        ctx.conflict(
            ConflictKind.FILES_CHANGED,
            address,
            f"{files_reason(changed, removed)} in {current.pid}; published files are never "
            "overwritten",
            "set `on_files_changed: replace` to publish a new dataset superseding it, "
            "or restore the files",
            where,
        )
        refused = True
    if added and not fill_empty and not dataset.spec.append_files:
        ctx.conflict(
            ConflictKind.FILES_ADDED,
            address,
            f"{files_count(added)} added ({few(added)}) to {current.pid}, which already has files",
            "set `append_files: true` to append them, or `on_files_changed: replace`",
            where,
        )
        refused = True
    return _noop(dataset, current) if refused else None


def _update_change(
    ctx: PlanContext,
    dataset: DesiredDataset,
    current: ObservedDataset,
    locked: LockedDataset | None,
    folder: str,
    added: Sequence[str],
) -> ResourceChange:
    """A dataset found in SciCat: its field, file and attachment changes (maybe none)."""
    drift = locked is not None and locked.fields_digest == dataset.fields_digest
    ignore = frozenset({"sourceFolder", "type"})
    field_changes, patch = diff_fields(
        ctx, _with_lineage(dataset.body, current), current.fields, drift=drift, ignore=ignore
    )
    file_changes = existing_file_changes(ctx, dataset, folder, added)
    uploads_allowed(ctx, dataset, folder, file_changes)
    attachments = attachment_changes(dataset, current)
    touched = (
        field_changes or added or any(a.action is not AttachmentAction.KEEP for a in attachments)
    )
    reason: str | None
    if locked is None or locked.pid != current.pid:
        action = Action.ADOPT
        reason = (
            "found in SciCat by its scisync marker; not in scisync.lock yet"
            if locked is None
            else f"scisync.lock's pid {locked.pid} is gone; found {current.pid} by its marker"
        )
    elif touched:
        action = Action.UPDATE
        reason = (
            "drift: changed in SciCat since the last apply" if drift and field_changes else None
        )
    else:
        action, reason = Action.NOOP, None
    return ResourceChange(
        kind=ResourceKind.DATASET,
        key=dataset.key,
        action=action,
        reason=reason,
        pid=current.pid,
        marker=dataset.marker,
        source_folder=folder,
        field_changes=tuple(field_changes),
        files=tuple(file_changes),
        attachments=tuple(attachments),
        depends_on=depends_on(dataset.body),
        patch=patch or None,
        fields_digest=dataset.fields_digest,
        supersedes=locked.supersedes if locked else (),
        checksum_algorithm=dataset.spec.checksum_algorithm,
    )


_GONE = ObservedDataset(pid="", fields={}, files=(), attachments=())
"""Stands for "the dataset cannot be told": a conflict was recorded instead."""


def _current_dataset(ctx: PlanContext, dataset: DesiredDataset) -> ObservedDataset | None:
    """The dataset in SciCat this entry manages: the lockfile's pid, else by marker;
    ``_GONE`` when that cannot be decided (a conflict says why)."""
    locked = ctx.recorded.datasets.get(dataset.key)
    if locked is not None and locked.pid in ctx.observed.by_pid:
        return ctx.observed.by_pid[locked.pid]
    candidates = ctx.observed.by_marker.get(dataset.marker, ())
    superseded = {
        c.fields.get("scientificMetadata", {}).get(SUPERSEDES_FIELD)  # type: ignore[union-attr]
        for c in candidates
        if isinstance(c.fields.get("scientificMetadata"), dict)
    }
    current = [c for c in candidates if c.pid not in superseded]
    if locked is not None and not current:
        ctx.conflict(
            ConflictKind.RECORD_GONE,
            f"dataset.{dataset.key}",
            f"pid {locked.pid} from scisync.lock is not in SciCat (or this account cannot read it)",
            "check the account's groups; if it is really gone, delete its entry from "
            "scisync.lock to create it again",
            str(dataset.spec.location) if dataset.spec.location else None,
        )
        return _GONE
    if len(current) > 1:
        pids = ", ".join(sorted(c.pid for c in current))
        ctx.conflict(
            ConflictKind.DUPLICATE_MARKER,
            f"dataset.{dataset.key}",
            f"several datasets in SciCat carry its marker {dataset.marker!r} ({pids})",
            "two applies raced without a lockfile; pick the right one with "
            "`scisync import PID --key KEY`",
            str(dataset.spec.location) if dataset.spec.location else None,
        )
        return _GONE
    return current[0] if current else None


def _create_change(
    ctx: PlanContext,
    dataset: DesiredDataset,
    action: Action,
    reason: str | None,
    supersedes: tuple[str, ...] = (),
) -> ResourceChange:
    address = f"dataset.{dataset.key}"
    ctx.pids[address] = None
    body = dict(dataset.body)
    if supersedes:
        metadata = dict(body["scientificMetadata"])  # type: ignore[arg-type]
        metadata[SUPERSEDES_FIELD] = supersedes[-1]
        body["scientificMetadata"] = metadata
    field_changes = []
    for name in sorted(body):
        resolved = resolve(ctx, body[name])
        if resolved is UNKNOWN:
            field_changes.append(FieldChange(name, None, body[name], after_unknown=True))
        else:
            field_changes.append(FieldChange(name, None, resolved))  # type: ignore[arg-type]
    folder = dataset.source_folder.as_posix()
    files = upload_changes(dataset, folder, FileAction.ADD, ctx)
    uploads_allowed(ctx, dataset, folder, files)
    return ResourceChange(
        kind=ResourceKind.DATASET,
        key=dataset.key,
        action=action,
        reason=reason,
        marker=dataset.marker,
        source_folder=folder,
        field_changes=tuple(field_changes),
        files=files,
        attachments=tuple(attachment_changes(dataset, None)),
        depends_on=depends_on(body),
        body=body,
        fields_digest=dataset.fields_digest,
        supersedes=supersedes,
        checksum_algorithm=dataset.spec.checksum_algorithm,
    )


def _with_lineage(body: JsonObject, current: ObservedDataset) -> JsonObject:
    """The desired body plus the supersedes link scisync wrote when it replaced a dataset
    (not in the manifest, but scisync's own bookkeeping: never planned away)."""
    metadata = current.fields.get("scientificMetadata")
    if not isinstance(metadata, dict) or SUPERSEDES_FIELD not in metadata:
        return body
    wanted = body.get("scientificMetadata")
    if not isinstance(wanted, dict):
        return body
    return {**body, "scientificMetadata": {**wanted, SUPERSEDES_FIELD: metadata[SUPERSEDES_FIELD]}}


def _settled(ctx: PlanContext, dataset: DesiredDataset) -> ResourceChange:
    """Nothing this dataset's plan reads moved since a full plan found it unchanged
    (scisync.observe.settled): a no-op, its files not listed.  Without a fields digest the
    apply keeps its lockfile entry exactly as it is."""
    pid = ctx.recorded.datasets[dataset.key].pid
    ctx.pids[f"dataset.{dataset.key}"] = pid
    return ResourceChange(
        kind=ResourceKind.DATASET,
        key=dataset.key,
        action=Action.NOOP,
        pid=pid,
        marker=dataset.marker,
        source_folder=dataset.source_folder.as_posix(),
    )


def _noop(dataset: DesiredDataset, current: ObservedDataset) -> ResourceChange:
    return ResourceChange(
        kind=ResourceKind.DATASET,
        key=dataset.key,
        action=Action.NOOP,
        pid=current.pid,
        marker=dataset.marker,
    )
