"""Planning a dataset's files: what to upload and register, and how the manifest's file
list differs from the one SciCat holds."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from scisync._util.columns import TupleLike
from scisync.desired.model import DesiredDataset, LocalFile, LocalFiles
from scisync.observe.model import ObservedDataset, ObservedFile
from scisync.plan.context import PlanContext
from scisync.plan.model import FileAction, FileChange
from scisync.storage.base import RemotePath


class UploadFiles(TupleLike[FileChange]):
    """A dataset's files to upload, all with one action: a view over the desired state's
    LocalFiles columns that makes each FileChange when it is read.

    A first apply of a million files held a LocalFile and a FileChange for every file
    while the plan was made (about 110 B a file more than one of them); this keeps the
    dataset's LocalFiles (columns), its folder once, and a byte per file saying whether
    it is on the storage already.  Compares, hashes and iterates like the tuple of its
    changes.
    """

    __slots__ = ("_action", "_files", "_folder", "_on_storage")

    def __init__(
        self,
        files: Sequence[LocalFile],
        folder: str,
        action: FileAction,
        on_storage: bytes,
    ) -> None:
        self._files = LocalFiles.of(files)
        self._folder = folder.rstrip("/")
        self._action = action
        self._on_storage = on_storage

    def _change(
        self, relative: str, size: int, blake3: str, checksum: str, local: str, stored: int
    ) -> FileChange:
        return FileChange(
            path=relative,
            action=self._action,
            size=size,
            blake3=blake3,
            checksum=checksum,
            local=local,
            remote=f"{self._folder}/{relative}",
            needs_transfer=not stored,
        )

    def _item(self, index: int) -> FileChange:
        file = self._files[index]
        return self._change(
            file.relative,
            file.size,
            file.blake3,
            file.checksum_text,
            file.local,
            self._on_storage[index],
        )

    def __len__(self) -> int:
        return len(self._files)

    @property
    def action(self) -> FileAction:
        return self._action

    def columns(self) -> tuple[Sequence[str], Sequence[int], Sequence[str], Sequence[str]]:
        """(paths, sizes, blake3 digests, ``alg:hex`` checksums) of the files, in order:
        what a lockfile records of them, without a FileChange per file."""
        files = self._files
        return files.relatives, files.sizes, files.blake3s, tuple(files.checksum_texts())

    def __iter__(self) -> Iterator[FileChange]:
        files = self._files  # read by columns: no LocalFile per file
        return map(
            self._change,
            files.relatives,
            files.sizes,
            files.blake3s,
            files.checksum_texts(),
            files.locals,
            self._on_storage,
        )


def upload_changes(
    dataset: DesiredDataset, folder: str, action: FileAction, ctx: PlanContext
) -> UploadFiles:
    base = folder.rstrip("/")
    files = LocalFiles.of(dataset.files)
    storage = ctx.observed.storage
    if not storage:
        # Nothing found on the storage (a first apply): no path object per file to look up.
        return UploadFiles(files, folder, action, bytes(len(files)))
    on_storage = bytes(
        stat is not None and stat.size == size
        for stat, size in zip(
            (storage.get(_remote(f"{base}/{relative}")) for relative in files.relatives),
            files.sizes,
            strict=True,
        )
    )
    return UploadFiles(files, folder, action, on_storage)


def existing_file_changes(
    ctx: PlanContext, dataset: DesiredDataset, folder: str, added: Iterable[str]
) -> list[FileChange]:
    """A dataset already in SciCat: the *added* files are appended, the others kept."""
    file_changes: list[FileChange] = []
    new_files = set(added)
    files = LocalFiles.of(dataset.files)
    base = folder.rstrip("/")
    checksums = list(files.checksum_texts())
    # One change per path (the last file of a path, at the place of its first).
    for relative, index in {rel: index for index, rel in enumerate(files.relatives)}.items():
        remote = f"{base}/{relative}"
        size = files.sizes[index]
        stat = ctx.observed.storage.get(_remote(remote)) if relative in new_files else None
        file_changes.append(
            FileChange(
                path=relative,
                action=FileAction.ADD if relative in new_files else FileAction.KEEP,
                size=size,
                blake3=files.blake3s[index],
                checksum=checksums[index],
                local=files.locals[index],
                remote=remote,
                needs_transfer=relative in new_files
                and not (stat is not None and stat.size == size),
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
    files = LocalFiles.of(dataset.files)
    for relative, size, algorithm, value in zip(
        files.relatives, files.sizes, files.algorithms(), files.checksum_values, strict=True
    ):
        seen = observed.get(relative)
        if seen is None:
            added.append(relative)
        elif seen.size != size or (seen.chk_alg == algorithm and seen.chk != value):
            changed.append(relative)
    wanted = set(files.relatives)
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
