"""What one planning pass reads and the bookkeeping it carries from entry to entry."""

from __future__ import annotations

from dataclasses import dataclass, field

from scisync.desired.model import DesiredState
from scisync.lock.model import Lockfile
from scisync.observe.model import ObservedState
from scisync.plan.model import Conflict, ConflictKind


@dataclass(frozen=True)
class PlanOptions:
    targets: frozenset[str] = frozenset()  # keys to limit the plan to (with their dependencies)
    locked: bool = False  # downloads must match the lockfile exactly
    resuming: frozenset[str] = frozenset()  # addresses whose file registration was interrupted
    downloads_only: bool = False  # `scisync pull`: datasets are read, never written or forgotten
    scisync_version: str = ""


@dataclass
class PlanContext:
    """Mutable bookkeeping during one planning pass (never escapes the planner)."""

    desired: DesiredState
    observed: ObservedState
    recorded: Lockfile
    options: PlanOptions
    pids: dict[str, str | None] = field(default_factory=dict)  # address -> pid (None: unknown)
    conflicts: list[Conflict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def conflict(
        self, kind: ConflictKind, address: str, what: str, hint: str, where: str | None = None
    ) -> None:
        """Record that *address* cannot be planned as the manifest says (planning goes on)."""
        self.conflicts.append(Conflict(kind, address, what, hint, where))
