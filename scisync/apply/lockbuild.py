"""The lockfile an apply leaves: the previous one with the plan's outcome folded in.

Pure: takes the plan and the pids the apply produced, returns a Lockfile.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence

from scisync.lock.model import (
    DerivedFiles,
    FileColumns,
    LockedAttachment,
    LockedDataset,
    LockedDownload,
    LockedFile,
    LockedPublication,
    LockedSample,
    Lockfile,
)
from scisync.plan.files import UploadFiles
from scisync.plan.model import Action, FileAction, Plan, ResourceChange, ResourceKind


def _dataset_entry(change: ResourceChange, pid: str, aids: Mapping[str, str]) -> LockedDataset:
    return LockedDataset(
        key=change.key,
        pid=pid,
        fields_digest=change.fields_digest or "",
        files=DerivedFiles(lambda: _recorded_files(change), _recorded_columns(change)),
        attachments=tuple(
            LockedAttachment(caption=a.caption, id=aids.get(a.caption, a.aid), blake3=a.blake3)
            for a in sorted(change.attachments, key=lambda a: a.caption)
        ),
        supersedes=change.supersedes,
    )


def _recorded_files(change: ResourceChange) -> tuple[LockedFile, ...]:
    return tuple(
        LockedFile(path=f.path, size=f.size, blake3=f.blake3 or "", checksum=f.checksum)
        for f in sorted(change.files, key=lambda f: f.path)
        if f.action in (FileAction.ADD, FileAction.KEEP)
    )


def _recorded_columns(change: ResourceChange) -> Callable[[], FileColumns] | None:
    """A new dataset's uploads (UploadFiles) by columns, for the lockfile writer: each file
    is recorded, and the columns are those of _recorded_files when sorted by path (the
    writer checks that and goes file by file otherwise)."""
    files = change.files
    if isinstance(files, UploadFiles) and files.action in (FileAction.ADD, FileAction.KEEP):
        return files.columns
    return None


def keeps_record(change: ResourceChange, entry: LockedDataset | None) -> bool:
    """Whether applying the dataset *change* leaves its lockfile *entry* exactly as it is."""
    if entry is None or change.pid is None or change.fields_digest is None:
        return False
    return _dataset_entry(change, change.pid, {}) == entry


def _download_entry(
    change: ResourceChange, pid: str, digests: Sequence[str | None]
) -> LockedDownload | None:
    """The download's record, or None if its files did not all land (keep the old one).

    ``digests`` holds the blake3 of each of ``change.files`` (by position; None or
    missing: the plan's own)."""

    def blake3s() -> Iterator[str | None]:
        found = iter(digests)
        for f in change.files:
            yield next(found, None) or f.blake3

    def files() -> tuple[LockedFile, ...]:
        rows = sorted(zip(change.files, blake3s(), strict=True), key=lambda row: row[0].path)
        return tuple(
            LockedFile(path=f.path, size=f.size, blake3=blake3 or "", checksum=f.checksum)
            for f, blake3 in rows
        )

    if not all(blake3s()):
        return None
    return LockedDownload(key=change.key, pid=pid, files=DerivedFiles(files))


def updated_lock(
    previous: Lockfile,
    plan: Plan,
    pids: Mapping[str, str],
    attachment_ids: Mapping[str, Mapping[str, str]],
    download_digests: Mapping[str, Sequence[str | None]],
    completed: Collection[str] | None = None,
    publication_status: Mapping[str, str] | None = None,
) -> Lockfile:
    """Fold the applied *plan* into *previous*.

    ``pids`` maps addresses to the pid each change ended with; ``attachment_ids`` maps
    addresses to caption -> aid; ``download_digests`` maps download addresses to
    the blake3 of each of their files (in the order of the change's files) now in the
    target folder (``publication_status``: the
    DOIs' statuses).  ``completed`` (None: all) names the changes that finished every
    step: one that failed or was interrupted half way keeps its previous record, so the
    lockfile never claims what SciCat does not hold; the journal and the markers let the
    next apply pick it up.
    """
    datasets = dict(previous.datasets)
    samples = dict(previous.samples)
    downloads = dict(previous.downloads)
    for change in plan.changes:
        if change.kind is ResourceKind.PUBLICATION or change.action is Action.MARK:
            continue  # publications: _publications; a marker alone records nothing
        if change.action is Action.FORGET:
            if change.kind is ResourceKind.DATASET:
                datasets.pop(change.key, None)
            elif change.kind is ResourceKind.SAMPLE:
                samples.pop(change.key, None)
            else:
                downloads.pop(change.key, None)
            continue
        if completed is not None and change.address not in completed:
            continue  # failed or interrupted before its last step: keep the old record
        pid = pids.get(change.address) or change.pid
        if pid is None:
            continue  # not reached (a failed apply): the next plan will try again
        if change.kind is ResourceKind.DATASET:
            if change.fields_digest is None:
                continue  # a refused change carries no desired state; keep what was recorded
            datasets[change.key] = _dataset_entry(
                change, pid, attachment_ids.get(change.address, {})
            )
        elif change.kind is ResourceKind.SAMPLE:
            samples[change.key] = LockedSample(
                key=change.key, sample_id=pid, fields_digest=change.fields_digest or ""
            )
        else:
            entry = _download_entry(change, pid, download_digests.get(change.address, ()))
            if entry is not None:
                downloads[change.key] = entry
    return Lockfile(
        project=plan.project,
        datasets=dict(sorted(datasets.items())),
        samples=dict(sorted(samples.items())),
        downloads=dict(sorted(downloads.items())),
        publications=_publications(previous, plan, pids, completed, publication_status or {}),
    )


def _publications(
    previous: Lockfile,
    plan: Plan,
    dois: Mapping[str, str],
    completed: Collection[str] | None,
    statuses: Mapping[str, str],
) -> dict[str, LockedPublication]:
    """The publications section after *plan*: same rules as the other sections."""
    publications = dict(previous.publications)
    for change in plan.changes:
        if change.kind is not ResourceKind.PUBLICATION:
            continue
        if change.action is Action.FORGET:
            publications.pop(change.key, None)
            continue
        if completed is not None and change.address not in completed:
            continue  # failed or interrupted: keep the old record
        doi = dois.get(change.address) or change.pid
        entry = _publication_entry(change, doi, statuses, previous) if doi else None
        if entry is not None:
            publications[change.key] = entry
    return dict(sorted(publications.items()))


def _publication_entry(
    change: ResourceChange, doi: str, statuses: Mapping[str, str], previous: Lockfile
) -> LockedPublication | None:
    """The record's entry: the status SciCat answered, else the one recorded before."""
    before = previous.publications.get(change.key)
    status = statuses.get(change.address) or (before.status if before else None)
    if status is None:
        return None  # not reached by the apply: the next plan finds it by its marker
    return LockedPublication(
        key=change.key, doi=doi, status=status, fields_digest=change.fields_digest or ""
    )
