"""Planning one download: which files of which dataset, and which are already present."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from scisync.desired.model import DesiredDownload
from scisync.lock.model import LockedDownload, LockedFile
from scisync.manifest.model import KeyRef, PidRef
from scisync.observe.model import ObservedFile
from scisync.plan.confine import readable
from scisync.plan.context import PlanContext
from scisync.plan.malformed import refuse_malformed, warn_unverified
from scisync.plan.model import (
    Action,
    ConflictKind,
    FileAction,
    FileChange,
    PackedFileChanges,
    ResourceChange,
    ResourceKind,
)


@dataclass(frozen=True)
class _Source:
    """The dataset a download reads from, as far as it is known at plan time."""

    pid: str | None
    files: Iterable[ObservedFile | LockedFile]
    folder: str | None
    depends_on: tuple[str, ...] = ()


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


def plan_download(ctx: PlanContext, download: DesiredDownload) -> ResourceChange:
    spec = download.spec
    where = str(spec.location) if spec.location else None
    locked = ctx.recorded.downloads.get(spec.key)
    conflicts_before = len(ctx.conflicts)
    if isinstance(spec.dataset, KeyRef):
        source = _source_by_key(ctx, download, spec.dataset, where)
    else:
        assert isinstance(spec.dataset, PidRef)
        source = _source_by_pid(ctx, download, spec.dataset, where)
    if source is None:
        return ResourceChange(kind=ResourceKind.DOWNLOAD, key=spec.key, action=Action.NOOP)
    pid, folder = source.pid, source.folder

    if locked is not None and ctx.options.locked:
        _check_locked(ctx, spec.key, where, locked, pid, source.files)

    file_changes = _file_changes(ctx, download, where, locked, source)
    if file_changes and not readable(ctx, source.folder, download=spec.key, pid=pid, where=where):
        return ResourceChange(kind=ResourceKind.DOWNLOAD, key=spec.key, action=Action.NOOP)
    needs = any(f.needs_transfer for f in file_changes)
    recorded_same = (
        locked is not None
        and locked.pid == pid
        and {f.path for f in locked.files} == {f.path for f in file_changes}
    )
    if len(ctx.conflicts) > conflicts_before:
        # Shown with its conflicts; nothing of it is downloaded or recorded until they go.
        return ResourceChange(kind=ResourceKind.DOWNLOAD, key=spec.key, action=Action.NOOP, pid=pid)
    return ResourceChange(
        kind=ResourceKind.DOWNLOAD,
        key=spec.key,
        action=Action.DOWNLOAD if needs or not recorded_same else Action.NOOP,
        pid=pid,
        source_folder=folder,
        files=PackedFileChanges(file_changes),
        depends_on=source.depends_on,
        reason=None if needs or recorded_same else "record the files in scisync.lock",
    )


def _source_by_key(
    ctx: PlanContext, download: DesiredDownload, ref: KeyRef, where: str | None
) -> _Source | None:
    """A download of a dataset the manifest names by key: its pid from this plan or the
    lockfile, its files from SciCat or, for one not created yet, from the manifest."""
    spec = download.spec
    address = f"dataset.{ref.key}"
    pid = ctx.pids.get(address)
    recorded_dataset = ctx.recorded.datasets.get(ref.key)
    if address not in ctx.pids and recorded_dataset is not None:
        pid = recorded_dataset.pid  # pull: the dataset is known from the lockfile
    elif address not in ctx.pids:
        ctx.conflict(
            ConflictKind.STALE_REFERENCE,
            f"download.{spec.key}",
            f"dataset {ref.key!r} has no pid in scisync.lock yet",
            "run `scisync apply` first (or download by `pid:`)",
            where,
        )
        return None
    managed = next((d for d in ctx.desired.datasets if d.key == ref.key), None)
    observed = ctx.observed.by_pid.get(pid) if pid else None
    if observed is None and pid is not None:
        observed = next(
            (d for ds in ctx.observed.by_marker.values() for d in ds if d.pid == pid), None
        )
    source: Iterable[ObservedFile | LockedFile]
    folder: str | None = None
    if observed is not None and refuse_malformed(ctx, observed, f"download.{spec.key}", where):
        return None
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
    return _Source(pid, source, folder, (address,) if pid is None else ())


def _source_by_pid(
    ctx: PlanContext, download: DesiredDownload, ref: PidRef, where: str | None
) -> _Source | None:
    """A download of a dataset named by pid: it must be in SciCat and readable."""
    pid = ref.pid
    observed = ctx.observed.by_pid.get(pid)
    if observed is None:
        ctx.conflict(
            ConflictKind.STALE_REFERENCE,
            f"download.{download.spec.key}",
            f"dataset {pid} is not in SciCat (or not readable by this account)",
            "check the pid and that your account may read the dataset",
            where,
        )
        return None
    if refuse_malformed(ctx, observed, f"download.{download.spec.key}", where):
        return None
    return _Source(pid, observed.files, str(observed.fields.get("sourceFolder", "")))


def _file_changes(
    ctx: PlanContext,
    download: DesiredDownload,
    where: str | None,
    locked: LockedDownload | None,
    source: _Source,
) -> list[FileChange]:
    """The selected files, each to fetch or already present; unsafe paths are refused."""
    spec = download.spec
    pinned = {f.path: f for f in locked.files} if locked is not None else {}
    file_changes = []
    unverified: list[str] = []
    for file in sorted(source.files, key=lambda f: f.path):
        if not _selected(download, file.path):
            continue
        if not _safe_relative(file.path):
            ctx.conflict(
                ConflictKind.UNSAFE_PATH,
                f"download.{spec.key}",
                f"SciCat lists the file path {file.path!r}, which would land outside the "
                "target folder",
                "refused for safety; ask the dataset's owner to fix the file list",
                where,
            )
            continue
        change = _file_change(download, file, pinned, source.folder)
        if change.action is FileAction.ADD and file.path in download.present:
            # A file is there but is not the catalogue's: scisync never overwrites it, so
            # the plan says so instead of promising a download apply would refuse.
            was_pinned = file.path in pinned and (
                pinned[file.path].blake3 == download.present[file.path].blake3
            )
            ctx.conflict(
                ConflictKind.LOCAL_MODIFIED,
                f"download.{spec.key}",
                f"{change.local} is the file downloaded before, but the catalogue's file has "
                "changed since"
                if was_pinned
                else f"{change.local} differs from the catalogue's file (modified locally?)",
                "move the local file away (or restore it) and run again; scisync never "
                "overwrites a file",
                where,
            )
            continue
        file_changes.append(change)
        if change.needs_transfer and isinstance(file, ObservedFile) and not file.chk_alg:
            unverified.append(file.path)
    warn_unverified(ctx, f"download {spec.key!r}", unverified)
    return file_changes


def _file_change(
    download: DesiredDownload,
    file: ObservedFile | LockedFile,
    pinned: Mapping[str, LockedFile],
    folder: str | None,
) -> FileChange:
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
    return FileChange(
        path=file.path,
        action=FileAction.KEEP if up_to_date else FileAction.ADD,
        size=file.size,
        blake3=lock_entry.blake3
        if lock_entry
        else (present.blake3 if up_to_date and present else None),
        checksum=checksum,
        local=str(download.spec.target / file.path),
        remote=f"{folder.rstrip('/')}/{file.path}" if folder else None,
        needs_transfer=not up_to_date,
    )


def _check_locked(
    ctx: PlanContext,
    key: str,
    where: str | None,
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
        ctx.conflict(
            ConflictKind.LOCK_MISMATCH,
            f"download.{key}",
            "the catalogue no longer matches scisync.lock: " + "; ".join(differences),
            "run without --locked to accept the new state and update scisync.lock",
            where,
        )
