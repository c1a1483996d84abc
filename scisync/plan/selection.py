"""Which entries a plan covers (``--target`` and its dependencies) and in what order."""

from __future__ import annotations

from collections.abc import Sequence

from scisync.desired.model import DesiredDataset, DesiredState
from scisync.errors import PlanError
from scisync.manifest.model import KeyRef


def wanted(selected: frozenset[str] | None, key: str) -> bool:
    return selected is None or key in selected


def _dataset_refs(dataset: DesiredDataset) -> list[KeyRef]:
    refs = [ref for ref in dataset.spec.input_datasets if isinstance(ref, KeyRef)]
    return refs


def selected_keys(desired: DesiredState, targets: frozenset[str]) -> frozenset[str] | None:
    """The targets plus everything they depend on; None means everything."""
    if not targets:
        return None
    known = {d.key for d in desired.datasets} | {s.key for s in desired.samples}
    known |= {d.key for d in desired.downloads}
    publications = {p.key: p for p in desired.publications}
    known |= publications.keys()
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
        if key in publications:
            related = publications[key].spec.datasets
            pending.extend(ref.key for ref in related if isinstance(ref, KeyRef))
        target = downloads[key].spec.dataset if key in downloads else None
        if isinstance(target, KeyRef):
            pending.append(target.key)
    return frozenset(chosen)


def dependency_order(datasets: Sequence[DesiredDataset]) -> list[DesiredDataset]:
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
