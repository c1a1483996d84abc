"""Forgetting: lockfile entries whose manifest entry is gone are dropped from the lock;
nothing is deleted anywhere."""

from __future__ import annotations

from scisync.lock.model import query_download_of
from scisync.plan.context import PlanContext
from scisync.plan.model import Action, ResourceChange, ResourceKind

_FORGET_REASONS = {
    ResourceKind.DATASET: "removed from the manifest; it stays in SciCat "
    "(datasets cannot be deleted)",
    ResourceKind.SAMPLE: "removed from the manifest; it stays in SciCat",
    ResourceKind.DOWNLOAD: "removed from the manifest; downloaded files are left in place",
    ResourceKind.PUBLICATION: "removed from the manifest; the record (and its DOI) stays in SciCat",
}


def plan_forgets(ctx: PlanContext) -> list[ResourceChange]:
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
        (
            ResourceKind.PUBLICATION,
            {p.key for p in ctx.desired.publications},
            {k: e.doi for k, e in ctx.recorded.publications.items()},
        ),
    ]
    return [
        ResourceChange(
            kind=kind, key=key, action=Action.FORGET, pid=pid, reason=_FORGET_REASONS[kind]
        )
        for kind, kept, entries in recorded
        for key, pid in sorted(entries.items())
        # entries of a query download still in the manifest are its planner's business
        if key not in kept and query_download_of(key) not in kept
    ]
