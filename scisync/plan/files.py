"""Planning a dataset's files: what to upload and register, and how the manifest's file
list differs from the one SciCat holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from scisync.desired.model import DesiredDataset
from scisync.observe.model import ObservedDataset, ObservedFile
from scisync.plan.context import PlanContext
from scisync.plan.model import FileAction, FileChange
from scisync.storage.base import RemotePath


def upload_changes(
    dataset: DesiredDataset, folder: str, action: FileAction, ctx: PlanContext
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
                checksum=file.checksum_text,
                local=file.local,
                remote=remote,
                needs_transfer=not on_storage,
            )
        )
    return changes


def existing_file_changes(
    ctx: PlanContext, dataset: DesiredDataset, folder: str, added: Iterable[str]
) -> list[FileChange]:
    """A dataset already in SciCat: the *added* files are appended, the others kept."""
    file_changes: list[FileChange] = []
    new_files = set(added)
    for relative, file in {f.relative: f for f in dataset.files}.items():
        remote = f"{folder.rstrip('/')}/{relative}"
        if relative in new_files:
            stat = ctx.observed.storage.get(_remote(remote))
            file_changes.append(
                FileChange(
                    path=relative,
                    action=FileAction.ADD,
                    size=file.size,
                    blake3=file.blake3,
                    checksum=file.checksum_text,
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
                    checksum=file.checksum_text,
                    local=file.local,
                    remote=remote,
                )
            )
    return file_changes


def _remote(path: str) -> RemotePath:
    return RemotePath(path)


def file_state(
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


def few(paths: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(paths[:limit])
    return shown if len(paths) <= limit else f"{shown}, … {len(paths) - limit} more"


def files_count(paths: Sequence[str]) -> str:
    return "1 file" if len(paths) == 1 else f"{len(paths)} files"


def files_reason(changed: Sequence[str], removed: Sequence[str]) -> str:
    parts = []
    if changed:
        parts.append(f"{files_count(changed)} changed ({few(changed)})")
    if removed:
        parts.append(f"{files_count(removed)} removed ({few(removed)})")
    return " and ".join(parts)
