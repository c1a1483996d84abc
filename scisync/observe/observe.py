"""Observing SciCat and the storage, read-only, in few batched requests.

One marker query finds every dataset scisync manages (with file lists and
attachments; the caller may pass summaries for settled datasets, see
``scisync.api``), one pid query the datasets known only by pid, one sample query the
samples; the storage is listed only under folders where files are still to go.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from scisync.desired.ids import rows_digest
from scisync.desired.model import DesiredState
from scisync.lock.model import Lockfile, query_download_of
from scisync.manifest.model import PidRef
from scisync.observe.model import ObservedDataset, ObservedPublication, ObservedState
from scisync.observe.ports import CatalogReader
from scisync.storage.base import RemotePath, RemoteStat, Storage


def observe(
    desired: DesiredState,
    recorded: Lockfile,
    catalog: CatalogReader,
    storage: Storage | None,
    *,
    found_by_marker: Mapping[str, Sequence[ObservedDataset]] | None = None,
    pinned: bool = False,
) -> ObservedState:
    """``found_by_marker``: the marker query's answer when the caller already made it
    (markers depend only on the manifest, so it can run while local files are hashed).
    ``pinned`` (``--locked``): query downloads the lockfile pins are not queried again."""
    if found_by_marker is None:
        markers = sorted({dataset.marker for dataset in desired.datasets})
        found_by_marker = catalog.find_datasets_by_markers(markers)
    by_marker = {m: tuple(found) for m, found in found_by_marker.items()}
    by_pid: dict[str, ObservedDataset] = {
        dataset.pid: dataset for found in by_marker.values() for dataset in found
    }
    queried = _run_queries(desired, recorded, catalog, pinned=pinned, into=by_pid)
    download_pids = {entry.pid for entry in recorded.downloads.values()}
    download_pids |= {
        d.spec.dataset.pid for d in desired.downloads if isinstance(d.spec.dataset, PidRef)
    }
    # A download reads a dataset's files: a summary (found by marker for a settled
    # dataset of this project, files not fetched) is fetched again whole.
    summaries = {pid for pid in download_pids if pid in by_pid and not by_pid[pid].files_listed}
    for pid in summaries:
        del by_pid[pid]
    wanted_pids = {entry.pid for entry in recorded.datasets.values()} | download_pids
    to_fetch = sorted(wanted_pids - by_pid.keys())
    if to_fetch:
        by_pid.update(catalog.get_datasets(to_fetch))
    missing = frozenset(pid for pid in to_fetch if pid not in by_pid)

    sample_ids = sorted({sample.sample_id for sample in desired.samples})
    samples = dict(catalog.get_samples(sample_ids)) if sample_ids else {}

    publications = _publications(desired, catalog)
    storage_files: dict[RemotePath, RemoteStat] = {}
    if storage is not None:
        for folder in _folders_awaiting_files(desired, by_marker):
            storage_files.update(storage.list_tree(folder))
    return ObservedState(
        by_marker=by_marker,
        by_pid=by_pid,
        missing_pids=missing,
        samples=samples,
        storage=storage_files,
        queried=queried,
        publications=publications,
    )


def _publications(
    desired: DesiredState, catalog: CatalogReader
) -> dict[str, tuple[ObservedPublication, ...]]:
    """The manifest's PublishedData records, found by marker (only when it has any)."""
    markers = sorted(publication.marker for publication in desired.publications)
    if not markers:
        return {}
    found = catalog.find_publications_by_markers(markers, context="published data")
    return {marker: tuple(found.get(marker, ())) for marker in markers}


def _run_queries(
    desired: DesiredState,
    recorded: Lockfile,
    catalog: CatalogReader,
    *,
    pinned: bool,
    into: dict[str, ObservedDataset],
) -> dict[str, tuple[str, ...]]:
    """Each query download's matches (pids), the datasets added to ``into``."""
    pinned_keys = {query_download_of(key) for key in recorded.downloads} if pinned else set()
    queried: dict[str, tuple[str, ...]] = {}
    for download in desired.downloads:
        spec = download.spec
        if spec.query is None or spec.key in pinned_keys:
            continue
        where = str(spec.location) if spec.location else f"download {spec.key}"
        found = catalog.query_download_datasets(spec.query, limit=spec.max_datasets, context=where)
        into.update((dataset.pid, dataset) for dataset in found)
        queried[spec.key] = tuple(sorted(dataset.pid for dataset in found))
    return queried


def _folders_awaiting_files(
    desired: DesiredState, by_marker: Mapping[str, Sequence[ObservedDataset]]
) -> list[RemotePath]:
    """Source folders of datasets with files SciCat does not list yet (to skip re-uploads)."""
    folders: set[RemotePath] = set()
    for dataset in desired.datasets:
        if not dataset.files:
            continue
        found = by_marker.get(dataset.marker, ())
        listed = {f.path for d in found for f in d.files}
        if all(f.relative in listed for f in dataset.files):
            continue
        if desired.roots.may_read(dataset.source_folder):
            folders.add(dataset.source_folder)  # (outside, the planner refuses the dataset)
        for current in found:
            folder = current.fields.get("sourceFolder")
            # A folder a record names is listed only inside the roots (it is SciCat's word).
            if isinstance(folder, str) and desired.roots.may_read(folder):
                folders.add(RemotePath(folder))
    return sorted(folders)


def observed_digest(observed: ObservedState) -> str:
    """A digest of what matters for a saved plan: did SciCat or the storage move on?"""

    def rows() -> Iterator[Iterable[object]]:
        for pid, dataset in sorted(observed.by_pid.items()):
            yield ["dataset", pid, dataset.fields.get("updatedAt", "")]
            if dataset.block_stamps:
                # Each block's id, updatedAt, size and count: SciCat stamps a block on every
                # write, so this moves with any file entry, without a row per file.
                yield ["blocks", *dataset.block_stamps]
            else:
                for file in dataset.files:
                    yield [file.path, file.size, file.chk]
            for attachment in sorted(dataset.attachments, key=lambda a: a.id):
                yield ["attachment", attachment.id, attachment.thumbnail_sha256]
        for sample_id, sample in sorted(observed.samples.items()):
            yield ["sample", sample_id, sample.fields.get("updatedAt", "")]
        for path, stat in sorted(observed.storage.items()):
            yield ["stored", path, stat.size]
        for pid in sorted(observed.missing_pids):
            yield ["missing", pid]
        for key, pids in sorted(observed.queried.items()):
            yield ["queried", key, *pids]
        for marker, records in sorted(observed.publications.items()):
            for record in records:
                yield ["published", marker, record.doi, record.status,
                       record.fields.get("updatedAt", "")]  # fmt: skip

    return rows_digest(rows())
