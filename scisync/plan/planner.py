"""The planner: a pure function of desired, observed and recorded state.

It imports nothing that does I/O (a test checks this) and never raises on what it
finds on the server, except for changes a policy forbids, which are collected and
raised together as one PlanError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from scisync._util.jsontypes import Json, JsonObject
from scisync.desired.ids import SUPERSEDES_FIELD, attachment_id
from scisync.desired.model import DesiredDataset, DesiredDownload, DesiredSample, DesiredState
from scisync.errors import PlanError, Problem
from scisync.lock.model import LockedDownload, LockedFile, Lockfile
from scisync.manifest.model import FilesPolicy, KeyRef, PidRef
from scisync.observe.model import ObservedDataset, ObservedFile, ObservedState
from scisync.plan.compare import merge_patch, values_equal
from scisync.plan.model import (
    Action,
    AttachmentAction,
    AttachmentChange,
    FieldChange,
    FileAction,
    FileChange,
    Fingerprint,
    Plan,
    ResourceChange,
    ResourceKind,
)
from scisync.storage.base import RemotePath

UNKNOWN = object()
"""Stands for a value that will be known after apply (the pid of an entry not created yet)."""


@dataclass(frozen=True)
class PlanOptions:
    targets: frozenset[str] = frozenset()  # keys to limit the plan to (with their dependencies)
    locked: bool = False  # downloads must match the lockfile exactly
    resuming: frozenset[str] = frozenset()  # addresses whose file registration was interrupted
    downloads_only: bool = False  # `scisync pull`: datasets are read, never written or forgotten
    scisync_version: str = ""


@dataclass
class _Context:
    """Mutable bookkeeping during one planning pass (never escapes the planner)."""

    desired: DesiredState
    observed: ObservedState
    recorded: Lockfile
    options: PlanOptions
    pids: dict[str, str | None] = field(default_factory=dict)  # address -> pid (None: unknown)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def make_plan(
    desired: DesiredState,
    observed: ObservedState,
    recorded: Lockfile | None,
    fingerprint: Fingerprint,
    options: PlanOptions | None = None,
) -> Plan:
    """Compute what to do so that SciCat, the storage and the lockfile match the manifest."""
    ctx = _Context(
        desired=desired,
        observed=observed,
        recorded=recorded or Lockfile(project=desired.project),
        options=options or PlanOptions(),
    )
    selected = _selected_keys(desired, ctx.options.targets)
    changes: list[ResourceChange] = []
    for sample in desired.samples:
        if _wanted(selected, sample.key):
            changes.append(_plan_sample(ctx, sample))
    for dataset in _dependency_order(desired.datasets):
        if _wanted(selected, dataset.key):
            changes.append(_plan_dataset(ctx, dataset))
    for download in desired.downloads:
        if _wanted(selected, download.key):
            changes.append(_plan_download(ctx, download))
    if not ctx.options.targets and not ctx.options.downloads_only:
        changes.extend(_plan_forgets(ctx))
    if ctx.problems:
        raise PlanError(problems=ctx.problems)
    return Plan(
        project=desired.project,
        changes=tuple(changes),
        fingerprint=fingerprint,
        scisync_version=ctx.options.scisync_version,
        warnings=tuple(ctx.warnings),
    )


# ----------------------------------------------------------------------------- selection


def _wanted(selected: frozenset[str] | None, key: str) -> bool:
    return selected is None or key in selected


def _dataset_refs(dataset: DesiredDataset) -> list[KeyRef]:
    refs = [ref for ref in dataset.spec.input_datasets if isinstance(ref, KeyRef)]
    return refs


def _selected_keys(desired: DesiredState, targets: frozenset[str]) -> frozenset[str] | None:
    """The targets plus everything they depend on; None means everything."""
    if not targets:
        return None
    known = {d.key for d in desired.datasets} | {s.key for s in desired.samples}
    known |= {d.key for d in desired.downloads}
    unknown = sorted(targets - known)
    if unknown:
        raise PlanError(
            f"--target names unknown keys: {', '.join(unknown)}",
            hint=f"known keys: {', '.join(sorted(known))}",
        )
    by_key = {d.key: d for d in desired.datasets}
    downloads = {d.key: d for d in desired.downloads}
    chosen: set[str] = set()
    pending = list(targets)
    while pending:
        key = pending.pop()
        if key in chosen:
            continue
        chosen.add(key)
        if key in by_key:
            dataset = by_key[key]
            pending.extend(ref.key for ref in _dataset_refs(dataset))
            if isinstance(dataset.spec.sample, KeyRef):
                pending.append(dataset.spec.sample.key)
        target = downloads[key].spec.dataset if key in downloads else None
        if isinstance(target, KeyRef):
            pending.append(target.key)
    return frozenset(chosen)


def _dependency_order(datasets: Sequence[DesiredDataset]) -> list[DesiredDataset]:
    """Datasets ordered so that inputs come before what derives from them (stable)."""
    by_key = {d.key: d for d in datasets}
    ordered: list[DesiredDataset] = []
    done: set[str] = set()

    def visit(dataset: DesiredDataset, trail: tuple[str, ...]) -> None:
        if dataset.key in done:
            return
        if dataset.key in trail:
            cycle = " -> ".join((*trail, dataset.key))
            raise PlanError(f"datasets refer to each other in a cycle: {cycle}")
        for ref in _dataset_refs(dataset):
            if ref.key in by_key:
                visit(by_key[ref.key], (*trail, dataset.key))
        done.add(dataset.key)
        ordered.append(dataset)

    for dataset in datasets:
        visit(dataset, ())
    return ordered


# ----------------------------------------------------------------------------- references


def _resolve(ctx: _Context, value: Json) -> object:
    """Replace {"$ref": address} placeholders by pids; UNKNOWN if any is not known yet."""
    if isinstance(value, dict):
        if set(value) == {"$ref"} and isinstance(value["$ref"], str):
            pid = ctx.pids.get(value["$ref"], UNKNOWN)
            return UNKNOWN if pid is None else pid
        resolved_dict: dict[str, object] = {}
        for name, item in value.items():
            resolved_dict[name] = _resolve(ctx, item)
        if any(item is UNKNOWN for item in resolved_dict.values()):
            return UNKNOWN
        return resolved_dict
    if isinstance(value, list):
        items = [_resolve(ctx, item) for item in value]
        return UNKNOWN if any(item is UNKNOWN for item in items) else items
    return value


def _depends_on(body: Json) -> tuple[str, ...]:
    found: list[str] = []

    def walk(value: Json) -> None:
        if isinstance(value, dict):
            if set(value) == {"$ref"} and isinstance(value["$ref"], str):
                found.append(value["$ref"])
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(body)
    return tuple(sorted(set(found)))


def _field_changes(
    ctx: _Context,
    body: JsonObject,
    current: Mapping[str, Json],
    *,
    drift: bool,
    ignore: frozenset[str] = frozenset(),
) -> tuple[list[FieldChange], JsonObject]:
    """Field-level differences and the merge patch that removes them."""
    changes: list[FieldChange] = []
    patch: JsonObject = {}
    for name in sorted(body):
        if name in ignore:
            continue
        wanted = body[name]
        resolved = _resolve(ctx, wanted)
        before = current.get(name)
        if resolved is UNKNOWN:
            changes.append(FieldChange(name, before, wanted, after_unknown=True))
            patch[name] = wanted
            continue
        resolved_json: Json = resolved  # type: ignore[assignment]
        if values_equal(name, resolved_json, before):
            continue
        changes.append(FieldChange(name, before, resolved_json, drift=drift))
        patch[name] = merge_patch(resolved_json, before) if isinstance(before, dict) else wanted
    return changes, patch


# ----------------------------------------------------------------------------- samples


def _plan_sample(ctx: _Context, sample: DesiredSample) -> ResourceChange:
    address = f"sample.{sample.key}"
    locked = ctx.recorded.samples.get(sample.key)
    current = ctx.observed.samples.get(sample.sample_id)
    ctx.pids[address] = sample.sample_id  # chosen by scisync, so known before apply
    if current is None:
        return ResourceChange(
            kind=ResourceKind.SAMPLE,
            key=sample.key,
            action=Action.CREATE,
            pid=sample.sample_id,
            field_changes=tuple(FieldChange(n, None, v) for n, v in sorted(sample.body.items())),
            body=sample.body,
            fields_digest=sample.fields_digest,
        )
    drift = locked is not None and locked.fields_digest == sample.fields_digest
    changes, patch = _field_changes(
        ctx, sample.body, current.fields, drift=drift, ignore=frozenset({"sampleId"})
    )
    if patch:
        patch["isPublished"] = sample.body["isPublished"]  # the server resets it otherwise
    action = Action.UPDATE if changes else Action.NOOP
    reason = None
    if locked is None:
        action, reason = Action.ADOPT, "found in SciCat by its sample id; not in scisync.lock"
    elif locked.sample_id != sample.sample_id:
        action = Action.UPDATE if changes else Action.ADOPT
        reason = f"sample id changed from {locked.sample_id} to {sample.sample_id}"
    return ResourceChange(
        kind=ResourceKind.SAMPLE,
        key=sample.key,
        action=action,
        reason=reason
        if reason
        else ("drift: changed in SciCat since last apply" if drift and changes else None),
        pid=sample.sample_id,
        field_changes=tuple(changes),
        patch=patch or None,
        fields_digest=sample.fields_digest,
    )


# ----------------------------------------------------------------------------- datasets


def _current_dataset(ctx: _Context, dataset: DesiredDataset) -> ObservedDataset | None:
    """The dataset in SciCat this entry manages: the lockfile's pid, else by marker."""
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
        ctx.problems.append(
            Problem(
                what=f"dataset {dataset.key!r}: pid {locked.pid} from scisync.lock is not in SciCat"
                " (or this account cannot read it)",
                where=str(dataset.spec.location) if dataset.spec.location else None,
                hint="check the account's groups; if it is really gone, delete its entry from "
                "scisync.lock to create it again",
            )
        )
        return None
    if len(current) > 1:
        pids = ", ".join(sorted(c.pid for c in current))
        ctx.problems.append(
            Problem(
                what=f"dataset {dataset.key!r}: several datasets in SciCat carry its marker "
                f"{dataset.marker!r} ({pids})",
                where=str(dataset.spec.location) if dataset.spec.location else None,
                hint="two applies raced without a lockfile; pick the right one with "
                "`scisync import PID --key KEY`",
            )
        )
        return None
    return current[0] if current else None


def _upload_changes(
    dataset: DesiredDataset, folder: str, action: FileAction, ctx: _Context
) -> list[FileChange]:
    changes = []
    for file in dataset.files:
        remote = f"{folder.rstrip('/')}/{file.relative}"
        stat = ctx.observed.storage.get(_remote(remote))
        on_storage = stat is not None and stat.size == file.size
        changes.append(
            FileChange(
                path=file.relative,
                action=action,
                size=file.size,
                blake3=file.blake3,
                checksum=str(file.checksum),
                local=file.local,
                remote=remote,
                needs_transfer=not on_storage,
            )
        )
    return changes


def _remote(path: str) -> RemotePath:
    return RemotePath(path)


def _attachment_changes(
    dataset: DesiredDataset, current: ObservedDataset | None
) -> list[AttachmentChange]:
    changes = []
    existing = {a.id: a for a in current.attachments} if current else {}
    for attachment in dataset.attachments:
        aid = attachment_id(current.pid, attachment.caption) if current else ""
        found = existing.get(aid)
        if found is None:
            action = AttachmentAction.ADD
        elif (
            found.thumbnail_sha256 != attachment.thumbnail_sha256
            or found.caption != attachment.caption
        ):
            action = AttachmentAction.UPDATE
        else:
            action = AttachmentAction.KEEP
        changes.append(
            AttachmentChange(
                caption=attachment.caption,
                action=action,
                aid=aid,
                image=str(attachment.image),
                blake3=attachment.blake3,
                thumbnail_sha256=attachment.thumbnail_sha256,
            )
        )
    return changes


def _file_state(
    dataset: DesiredDataset, current: ObservedDataset
) -> tuple[list[str], list[str], list[str]]:
    """(added, changed, removed) relative paths of the manifest's files vs SciCat's."""
    observed: dict[str, ObservedFile] = {f.path: f for f in current.files}
    added, changed = [], []
    for file in dataset.files:
        seen = observed.get(file.relative)
        if seen is None:
            added.append(file.relative)
        elif seen.size != file.size or (
            seen.chk_alg == file.checksum.algorithm and seen.chk != file.checksum.value
        ):
            changed.append(file.relative)
    wanted = {f.relative for f in dataset.files}
    removed = sorted(path for path in observed if path not in wanted)
    return added, changed, removed


def _create_change(
    ctx: _Context,
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
        resolved = _resolve(ctx, body[name])
        if resolved is UNKNOWN:
            field_changes.append(FieldChange(name, None, body[name], after_unknown=True))
        else:
            field_changes.append(FieldChange(name, None, resolved))  # type: ignore[arg-type]
    return ResourceChange(
        kind=ResourceKind.DATASET,
        key=dataset.key,
        action=action,
        reason=reason,
        marker=dataset.marker,
        source_folder=dataset.source_folder.as_posix(),
        field_changes=tuple(field_changes),
        files=tuple(
            _upload_changes(dataset, dataset.source_folder.as_posix(), FileAction.ADD, ctx)
        ),
        attachments=tuple(_attachment_changes(dataset, None)),
        depends_on=_depends_on(body),
        body=body,
        fields_digest=dataset.fields_digest,
        supersedes=supersedes,
        checksum_algorithm=dataset.spec.checksum_algorithm,
    )


def _plan_dataset(ctx: _Context, dataset: DesiredDataset) -> ResourceChange:
    address = f"dataset.{dataset.key}"
    where = str(dataset.spec.location) if dataset.spec.location else f"dataset {dataset.key}"
    locked = ctx.recorded.datasets.get(dataset.key)
    current = _current_dataset(ctx, dataset)
    if current is None:
        return _create_change(ctx, dataset, Action.CREATE, None)

    ctx.pids[address] = current.pid
    if current.fields.get("type") not in (None, dataset.spec.type):
        ctx.problems.append(
            Problem(
                what=f"dataset {dataset.key!r} is of type {current.fields.get('type')!r} in "
                f"SciCat but {dataset.spec.type!r} in the manifest; SciCat cannot change a type",
                where=where,
                hint="restore the type, or give the entry a new key to create a new dataset",
            )
        )
        return _noop(dataset, current)

    folder = str(current.fields.get("sourceFolder") or dataset.source_folder.as_posix())
    files_by_path = {f.relative: f for f in dataset.files}
    if dataset.spec.files:
        added, changed, removed = _file_state(dataset, current)
    else:
        # No `files:` in the manifest: the file list is not managed here (an imported
        # dataset, or one whose files another tool registers), so it is left alone.
        added, changed, removed = [], [], []
    # A dataset scisync created but whose file list was never (fully) registered is an
    # interrupted apply: completing the registration changes nothing published.
    fill_empty = not current.files or address in ctx.options.resuming

    if changed or removed:
        why = _files_reason(changed, removed)
        if dataset.spec.on_files_changed is FilesPolicy.REPLACE:
            supersedes = (*(locked.supersedes if locked else ()), current.pid)
            return _create_change(ctx, dataset, Action.REPLACE, why, supersedes=supersedes)
        ctx.problems.append(
            Problem(
                what=f"dataset {dataset.key!r} ({current.pid}): {why}; published files are never "
                "overwritten",
                where=where,
                hint="set `on_files_changed: replace` to publish a new dataset superseding it, "
                "or restore the files",
            )
        )
        return _noop(dataset, current)
    if added and not fill_empty and not dataset.spec.append_files:
        ctx.problems.append(
            Problem(
                what=f"dataset {dataset.key!r} ({current.pid}): {len(added)} file(s) added "
                f"({_few(added)}) to a dataset that already has files",
                where=where,
                hint="set `append_files: true` to append them, or `on_files_changed: replace`",
            )
        )
        return _noop(dataset, current)

    drift = locked is not None and locked.fields_digest == dataset.fields_digest
    ignore = frozenset({"sourceFolder", "type"})
    field_changes, patch = _field_changes(
        ctx, _with_lineage(dataset.body, current), current.fields, drift=drift, ignore=ignore
    )
    file_changes: list[FileChange] = []
    new_files = set(added)
    for relative, file in files_by_path.items():
        remote = f"{folder.rstrip('/')}/{relative}"
        if relative in new_files:
            stat = ctx.observed.storage.get(_remote(remote))
            file_changes.append(
                FileChange(
                    path=relative,
                    action=FileAction.ADD,
                    size=file.size,
                    blake3=file.blake3,
                    checksum=str(file.checksum),
                    local=file.local,
                    remote=remote,
                    needs_transfer=not (stat is not None and stat.size == file.size),
                )
            )
        else:
            file_changes.append(
                FileChange(
                    path=relative,
                    action=FileAction.KEEP,
                    size=file.size,
                    blake3=file.blake3,
                    checksum=str(file.checksum),
                    local=file.local,
                    remote=remote,
                )
            )
    attachments = _attachment_changes(dataset, current)
    touched = (
        field_changes
        or new_files
        or any(a.action is not AttachmentAction.KEEP for a in attachments)
    )
    reason: str | None
    if locked is None or locked.pid != current.pid:
        action = Action.ADOPT
        reason = "found in SciCat by its marker; not in scisync.lock"
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
        depends_on=_depends_on(dataset.body),
        patch=patch or None,
        fields_digest=dataset.fields_digest,
        supersedes=locked.supersedes if locked else (),
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


def _noop(dataset: DesiredDataset, current: ObservedDataset) -> ResourceChange:
    return ResourceChange(
        kind=ResourceKind.DATASET,
        key=dataset.key,
        action=Action.NOOP,
        pid=current.pid,
        marker=dataset.marker,
    )


def _few(paths: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(paths[:limit])
    return shown if len(paths) <= limit else f"{shown}, … {len(paths) - limit} more"


def _files_reason(changed: Sequence[str], removed: Sequence[str]) -> str:
    parts = []
    if changed:
        parts.append(f"{len(changed)} file(s) changed ({_few(changed)})")
    if removed:
        parts.append(f"{len(removed)} file(s) removed ({_few(removed)})")
    return " and ".join(parts)


# ----------------------------------------------------------------------------- downloads


def _selected(download: DesiredDownload, path: str) -> bool:
    spec = download.spec
    if not spec.include and spec.regex is None and not spec.files:
        return True
    if any(fnmatchcase(path, pattern) for pattern in spec.include):
        return True
    if spec.regex is not None and re.search(spec.regex, path):
        return True
    return path in spec.files


def _safe_relative(path: str) -> bool:
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def _plan_download(ctx: _Context, download: DesiredDownload) -> ResourceChange:
    spec = download.spec
    where = str(spec.location) if spec.location else f"download {spec.key}"
    locked = ctx.recorded.downloads.get(spec.key)
    pid: str | None
    source: Iterable[ObservedFile | LockedFile]
    folder: str | None = None
    if isinstance(spec.dataset, KeyRef):
        address = f"dataset.{spec.dataset.key}"
        pid = ctx.pids.get(address)
        recorded_dataset = ctx.recorded.datasets.get(spec.dataset.key)
        if address not in ctx.pids and recorded_dataset is not None:
            pid = recorded_dataset.pid  # pull: the dataset is known from the lockfile
        elif address not in ctx.pids:
            ctx.problems.append(
                Problem(
                    what=f"download {spec.key!r}: dataset {spec.dataset.key!r} has no pid in "
                    "scisync.lock yet",
                    where=where,
                    hint="run `scisync apply` first (or download by `pid:`)",
                )
            )
            return ResourceChange(kind=ResourceKind.DOWNLOAD, key=spec.key, action=Action.NOOP)
        managed = next((d for d in ctx.desired.datasets if d.key == spec.dataset.key), None)
        observed = ctx.observed.by_pid.get(pid) if pid else None
        if observed is None and pid is not None:
            observed = next(
                (d for ds in ctx.observed.by_marker.values() for d in ds if d.pid == pid), None
            )
        if observed is not None:
            source, folder = observed.files, str(observed.fields.get("sourceFolder", ""))
        elif managed is not None:
            source = [
                ObservedFile(f.relative, f.size, f.checksum.value, f.checksum.algorithm)
                for f in managed.files
            ]
            folder = managed.source_folder.as_posix()
        else:
            source = []
        depends = (address,) if pid is None else ()
    else:
        assert isinstance(spec.dataset, PidRef)
        pid = spec.dataset.pid
        depends = ()
        observed = ctx.observed.by_pid.get(pid)
        if observed is None:
            ctx.problems.append(
                Problem(
                    what=f"download {spec.key!r}: dataset {pid} is not in SciCat (or not readable)",
                    where=where,
                    hint="check the pid and that your account may read the dataset",
                )
            )
            return ResourceChange(kind=ResourceKind.DOWNLOAD, key=spec.key, action=Action.NOOP)
        source, folder = observed.files, str(observed.fields.get("sourceFolder", ""))

    if locked is not None and ctx.options.locked:
        _check_locked(ctx, spec.key, where, locked, pid, source)

    pinned = {f.path: f for f in locked.files} if locked is not None else {}
    file_changes = []
    for file in sorted(source, key=lambda f: f.path):
        if not _selected(download, file.path):
            continue
        if not _safe_relative(file.path):
            ctx.problems.append(
                Problem(
                    what=f"download {spec.key!r}: SciCat lists the file path {file.path!r}, which "
                    "would land outside the target folder",
                    where=where,
                    hint="refused for safety; ask the dataset's owner to fix the file list",
                )
            )
            continue
        checksum = None
        if isinstance(file, ObservedFile) and file.chk and file.chk_alg:
            checksum = f"{file.chk_alg}:{file.chk}"
        lock_entry = pinned.get(file.path)
        present = download.present.get(file.path)
        up_to_date = (
            present is not None
            and present.size == file.size
            and (
                (lock_entry is not None and lock_entry.blake3 == present.blake3)
                or (
                    isinstance(file, ObservedFile)
                    and file.chk_alg is not None
                    and present.checksums.get(file.chk_alg) == file.chk
                )
            )
        )
        file_changes.append(
            FileChange(
                path=file.path,
                action=FileAction.KEEP if up_to_date else FileAction.ADD,
                size=file.size,
                blake3=lock_entry.blake3
                if lock_entry
                else (present.blake3 if up_to_date and present else None),
                checksum=checksum,
                local=str(spec.target / file.path),
                remote=f"{folder.rstrip('/')}/{file.path}" if folder else None,
                needs_transfer=not up_to_date,
            )
        )
    needs = any(f.needs_transfer for f in file_changes)
    recorded_same = (
        locked is not None
        and locked.pid == pid
        and {f.path for f in locked.files} == {f.path for f in file_changes}
    )
    action = Action.DOWNLOAD if needs or not recorded_same else Action.NOOP
    return ResourceChange(
        kind=ResourceKind.DOWNLOAD,
        key=spec.key,
        action=action,
        pid=pid,
        source_folder=folder,
        files=tuple(file_changes),
        depends_on=depends,
        reason=None if needs or recorded_same else "record the files in scisync.lock",
    )


def _check_locked(
    ctx: _Context,
    key: str,
    where: str,
    locked: LockedDownload,
    pid: str | None,
    source: Iterable[ObservedFile | LockedFile],
) -> None:
    """In locked mode the catalogue must still hold exactly what the lockfile pinned."""
    differences: list[str] = []
    if pid != locked.pid:
        differences.append(f"pid {locked.pid} -> {pid}")
    now = {f.path: f for f in source}
    for pinned in locked.files:
        seen = now.get(pinned.path)
        if seen is None:
            differences.append(f"- {pinned.path} (gone from SciCat)")
        elif seen.size != pinned.size:
            differences.append(f"~ {pinned.path} size {pinned.size} -> {seen.size}")
        elif (
            isinstance(seen, ObservedFile)
            and pinned.checksum
            and seen.chk
            and pinned.checksum != f"{seen.chk_alg}:{seen.chk}"
        ):
            differences.append(
                f"~ {pinned.path} checksum {pinned.checksum} -> {seen.chk_alg}:{seen.chk}"
            )
    if differences:
        ctx.problems.append(
            Problem(
                what=f"download {key!r}: the catalogue no longer matches scisync.lock: "
                + "; ".join(differences),
                where=where,
                hint="run without --locked to accept the new state and update scisync.lock",
            )
        )


# ----------------------------------------------------------------------------- forgets


_FORGET_REASONS = {
    ResourceKind.DATASET: "removed from the manifest; it stays in SciCat "
    "(datasets cannot be deleted)",
    ResourceKind.SAMPLE: "removed from the manifest; it stays in SciCat",
    ResourceKind.DOWNLOAD: "removed from the manifest; downloaded files are left in place",
}


def _plan_forgets(ctx: _Context) -> list[ResourceChange]:
    """Lockfile entries whose manifest entry is gone: dropped from the lock, nothing deleted."""
    recorded: list[tuple[ResourceKind, set[str], dict[str, str]]] = [
        (
            ResourceKind.DATASET,
            {d.key for d in ctx.desired.datasets},
            {k: e.pid for k, e in ctx.recorded.datasets.items()},
        ),
        (
            ResourceKind.SAMPLE,
            {s.key for s in ctx.desired.samples},
            {k: e.sample_id for k, e in ctx.recorded.samples.items()},
        ),
        (
            ResourceKind.DOWNLOAD,
            {d.key for d in ctx.desired.downloads},
            {k: e.pid for k, e in ctx.recorded.downloads.items()},
        ),
    ]
    return [
        ResourceChange(
            kind=kind, key=key, action=Action.FORGET, pid=pid, reason=_FORGET_REASONS[kind]
        )
        for kind, kept, entries in recorded
        for key, pid in sorted(entries.items())
        if key not in kept
    ]
