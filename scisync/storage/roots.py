"""The folders scisync may read and write on the storage: one rule, in one place.

A dataset record's ``sourceFolder`` comes from SciCat, which other users write.  Without a
rule, ``scisync pull`` with local storage would copy whatever file a record points at
(a private key, say) into the download folder.  So every storage path scisync reads lies
under the storage root or a read-only root the manifest declares, and every path it writes
lies under the storage root.  The planner refuses a dataset whose folder lies elsewhere
(naming the dataset, the folder and the setting that would allow it); the storage
backends check again before each read or write, on the resolved path where they can
(defence in depth against symlinks and records that changed since the plan).

The test is lexical and pure (no I/O): a path must be absolute, hold no ``..`` and lie
at or below one of the roots.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from scisync.errors import StorageError

READ_ONLY_SETTING = "read_only_roots"


def _normal(path: PurePosixPath | str) -> PurePosixPath | None:
    """*path* as an absolute POSIX path without ``..``, or None if it is not one."""
    text = str(path)
    if not text.startswith("/") or text.startswith("//") or "\x00" in text:
        return None
    normal = PurePosixPath(text)
    return None if ".." in normal.parts else normal


def _under(path: PurePosixPath, root: PurePosixPath) -> bool:
    return path == root or root in path.parents


@dataclass(frozen=True)
class Roots:
    """Where the storage may be read (``writable`` and ``read_only``) and written
    (``writable``: the storage root).  Empty when the manifest declares no storage."""

    writable: tuple[PurePosixPath, ...] = ()
    read_only: tuple[PurePosixPath, ...] = ()
    setting: str = "storage.local.read_only_roots"  # named in refusals: how to allow more

    @classmethod
    def of(
        cls,
        storage_root: PurePosixPath | None,
        read_only: Iterable[PurePosixPath] = (),
        *,
        setting: str = "storage.local.read_only_roots",
    ) -> Roots:
        writable = (storage_root,) if storage_root is not None else ()
        return cls(writable=writable, read_only=tuple(read_only), setting=setting)

    def may_read(self, path: PurePosixPath | str) -> bool:
        normal = _normal(path)
        return normal is not None and any(
            _under(normal, root) for root in (*self.writable, *self.read_only)
        )

    def may_write(self, path: PurePosixPath | str) -> bool:
        normal = _normal(path)
        return normal is not None and any(_under(normal, root) for root in self.writable)

    def describe(self, *, writing: bool = False) -> str:
        roots = self.writable if writing else (*self.writable, *self.read_only)
        return ", ".join(str(root) for root in roots) or "none: the manifest has no storage"

    def check_read(self, path: PurePosixPath | str) -> None:
        """Raise :class:`StorageError` unless *path* may be read (the backends' check)."""
        if not self.may_read(path):
            raise StorageError(
                f"refusing to read {str(path)!r}: it lies outside the storage roots "
                f"({self.describe()})",
                where=str(path),
                hint=f"if the files are meant to be read from there, add the folder to "
                f"`{self.setting}` in the manifest",
            )

    def check_write(self, path: PurePosixPath | str) -> None:
        """Raise :class:`StorageError` unless *path* may be written (the backends' check)."""
        if not self.may_write(path):
            raise StorageError(
                f"refusing to write {str(path)!r}: it lies outside the storage root "
                f"({self.describe(writing=True)})",
                where=str(path),
                hint="upload only below the storage root: remove the dataset's "
                "`source_folder`, or point `storage.*.root` at a folder that contains it",
            )
