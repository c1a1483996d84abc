"""Catalogue records that failed :mod:`scisync.scicat.records`: an error for their dataset.

The observed dataset carries its problems as data; here they become one conflict of the
manifest entry naming the dataset, so nothing is written for it (a plan with conflicts
is never applied).  A downloaded file SciCat lists without
a checksum is a warning instead: it is fetched and pinned by blake3 in scisync.lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from scisync.observe.model import ObservedDataset
from scisync.plan.context import PlanContext
from scisync.plan.model import ConflictKind

MAX_SHOWN = 5  # problems quoted per dataset; the rest are counted


def _listing(items: Sequence[str]) -> str:
    shown = "; ".join(items[:MAX_SHOWN])
    more = len(items) - MAX_SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


def refuse_malformed(
    ctx: PlanContext, observed: ObservedDataset, address: str, where: str | None
) -> bool:
    """A conflict for ``address`` when ``observed`` has problems; True when it had."""
    if not observed.problems:
        return False
    ctx.conflict(
        ConflictKind.MALFORMED_RECORD,
        address,
        f"the SciCat record of dataset {observed.pid!r} is malformed: "
        + _listing(observed.problems),
        "scisync does not act on a malformed record; ask the dataset's owner to fix it in "
        "SciCat, or leave this entry out of the manifest for now",
        where,
    )
    return True


def warn_unverified(ctx: PlanContext, subject: str, paths: Sequence[str]) -> None:
    """One warning naming the downloaded files SciCat lists without a checksum."""
    if not paths:
        return
    names = _listing([repr(path) for path in paths])
    ctx.warnings.append(
        f"{subject}: SciCat lists no checksum for {names}; downloaded without verification "
        "against SciCat, and pinned by blake3 in scisync.lock"
    )
