"""Planning a dataset's files: what to upload and register, and how the manifest's file
list differs from the one SciCat holds."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from scisync.desired.model import DesiredDataset, LocalFile
from scisync.observe.model import ObservedDataset, ObservedFile
from scisync.plan.context import PlanContext
from scisync.plan.model import FileAction, FileChange
from scisync.storage.base import RemotePath


class UploadFiles(Sequence[FileChange]):
    """A dataset's files to upload, all with one action: a view over the desired state's
    LocalFiles that makes each FileChange when it is read.

    A first apply of a million files held a LocalFile and a FileChange for every file
    while the plan was made (about 110 B a file more than one of them); this keeps the
    LocalFiles, the dataset's folder once, and a byte per file saying whether it is on
    the storage already.  Compares, hashes and iterates like the tuple of its changes.
    """

    __slots__ = ("_action", "_files", "_folder", "_on_storage")

    def __init__(
        self,
        files: Sequence[LocalFile],
        folder: str,
        action: FileAction,
        on_storage: bytes,
    ) -> None:
        self._files = tuple(files)
        self._folder = folder.rstrip("/")
        self._action = action
        self._on_storage = on_storage

    def _change(self, index: int) -> FileChange:
        file = self._files[index]
        return FileChange(
            path=file.relative,
            action=self._action,
            size=file.size,
            blake3=file.blake3,
            checksum=file.checksum_text,
            local=file.local,
            remote=f"{self._folder}/{file.relative}",
            needs_transfer=not self._on_storage[index],
        )

    def __len__(self) -> int:
        return len(self._files)

    @overload
    def __getitem__(self, index: int) -> FileChange: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[FileChange, ...]: ...
    def __getitem__(self, index: int | slice) -> FileChange | tuple[FileChange, ...]:
        if isinstance(index, slice):
            return tuple(map(self._change, range(len(self._files))[index]))
        return self._change(range(len(self._files))[index])

    def __iter__(self) -> Iterator[FileChange]:
        return map(self._change, range(len(self._files)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, UploadFiles)):
            return len(self) == len(other) and all(map(operator.eq, self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"UploadFiles({tuple(self)!r})"


def upload_changes(
    dataset: DesiredDataset, folder: str, action: FileAction, ctx: PlanContext
) -> UploadFiles:
    base = folder.rstrip("/")
    on_storage = bytearray(len(dataset.files))
    for index, file in enumerate(dataset.files):
        stat = ctx.observed.storage.get(_remote(f"{base}/{file.relative}"))
        on_storage[index] = stat is not None and stat.size == file.size
    return UploadFiles(dataset.files, folder, action, bytes(on_storage))


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
