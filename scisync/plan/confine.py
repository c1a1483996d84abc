"""The planner's half of confinement: refuse a dataset whose folder lies outside the roots.

The rule itself is :class:`scisync.storage.roots.Roots` (the storage backends apply it
again before each read and write); here a refusal becomes a conflict of the entry that
names the dataset, the folder and the manifest setting that would allow it, before
anything runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from scisync.desired.model import DesiredDataset
from scisync.plan.context import PlanContext
from scisync.plan.model import ConflictKind, FileChange


def readable(
    ctx: PlanContext, folder: str | None, *, download: str, pid: str | None, where: str | None
) -> bool:
    """True if the download may read *folder*; else a conflict is recorded."""
    roots = ctx.desired.roots
    if folder is not None and roots.may_read(folder):
        return True
    ctx.conflict(
        ConflictKind.OUTSIDE_STORAGE_ROOTS,
        f"download.{download}",
        f"dataset {pid or '(not created yet)'} has sourceFolder {folder or ''!r}, which lies "
        f"outside the storage roots ({roots.describe()}); refused so that nothing outside "
        "them is read",
        f"if the dataset's files are meant to be read from there, add the folder to "
        f"`{roots.setting}` in the manifest",
        where,
    )
    return False


def uploads_allowed(
    ctx: PlanContext, dataset: DesiredDataset, folder: str, files: Iterable[FileChange]
) -> bool:
    """True unless files of *dataset* would be uploaded outside the storage root."""
    roots = ctx.desired.roots
    if not any(f.needs_transfer for f in files) or roots.may_write(folder):
        return True  # nothing is written, or only below the root
    ctx.conflict(
        ConflictKind.OUTSIDE_STORAGE_ROOTS,
        f"dataset.{dataset.key}",
        f"its files would be uploaded to {folder!r}, which lies outside the storage root "
        f"({roots.describe(writing=True)}); refused",
        "remove the dataset's `source_folder` so its files go below the storage root, or "
        "set `storage.*.root` to a folder that contains it",
        str(dataset.spec.location) if dataset.spec.location else None,
    )
    return False
