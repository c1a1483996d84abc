"""The planner: a pure function of desired, observed and recorded state.

It imports nothing that does I/O (a test checks this) and never raises on what it
finds on the server: changes a policy forbids, and records it cannot use, become
conflicts in the plan, all of them collected, each under its entry.  This module only
orchestrates: each kind of entry is planned by its own module (samples, datasets,
publications, downloads, forget).
"""

from __future__ import annotations

from scisync.desired.model import DesiredState
from scisync.lock.model import Lockfile
from scisync.observe.model import ObservedState
from scisync.plan.context import PlanContext, PlanOptions
from scisync.plan.datasets import plan_dataset
from scisync.plan.downloads import plan_download
from scisync.plan.forget import plan_forgets
from scisync.plan.model import Fingerprint, Plan, ResourceChange
from scisync.plan.published import plan_publication
from scisync.plan.query_downloads import plan_query_download
from scisync.plan.samples import plan_sample
from scisync.plan.selection import dependency_order, selected_keys, wanted

__all__ = ["PlanOptions", "make_plan"]


def make_plan(
    desired: DesiredState,
    observed: ObservedState,
    recorded: Lockfile | None,
    fingerprint: Fingerprint,
    options: PlanOptions | None = None,
) -> Plan:
    """Compute what to do so that SciCat, the storage and the lockfile match the manifest."""
    ctx = PlanContext(
        desired=desired,
        observed=observed,
        recorded=recorded or Lockfile(project=desired.project),
        options=options or PlanOptions(),
    )
    selected = selected_keys(desired, ctx.options.targets)
    changes: list[ResourceChange] = []
    for sample in desired.samples:
        if wanted(selected, sample.key):
            changes.append(plan_sample(ctx, sample))
    for dataset in dependency_order(desired.datasets):
        if wanted(selected, dataset.key):
            changes.append(plan_dataset(ctx, dataset))
    if not ctx.options.downloads_only:
        changes.extend(
            plan_publication(ctx, publication)
            for publication in desired.publications
            if wanted(selected, publication.key)
        )
    for download in desired.downloads:
        if not wanted(selected, download.key):
            continue
        if download.spec.query is not None:
            changes.extend(plan_query_download(ctx, download))
        else:
            changes.append(plan_download(ctx, download))
    if not ctx.options.targets and not ctx.options.downloads_only:
        changes.extend(plan_forgets(ctx))
    return Plan(
        project=desired.project,
        changes=tuple(changes),
        fingerprint=fingerprint,
        scisync_version=ctx.options.scisync_version,
        warnings=tuple(ctx.warnings),
        conflicts=tuple(ctx.conflicts),
    )
