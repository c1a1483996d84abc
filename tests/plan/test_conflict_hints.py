"""Conflict hints work when followed: the plan made after following one has no conflict
(a table of cases, through the real planner)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from scisync.desired.model import DesiredState
from scisync.lock.model import Lockfile
from scisync.manifest.model import FilesPolicy
from scisync.observe.model import ObservedState
from scisync.plan.model import Action, ConflictKind, Plan
from scisync.plan.planner import make_plan

from .factories import (
    FINGERPRINT,
    dataset,
    local_file,
    locked,
    lockfile,
    observed,
    observed_from,
    state,
)

Inputs = tuple[DesiredState, ObservedState, Lockfile | None]


def _plan(inputs: Inputs) -> Plan:
    return make_plan(*inputs, FINGERPRINT)


def _record_gone() -> tuple[Inputs, Inputs]:
    raw = dataset("raw")
    broken = (state((raw,)), ObservedState(), lockfile(locked(raw, "p/1")))
    # "delete its entry from scisync.lock to create it again"
    return broken, (state((raw,)), ObservedState(), lockfile())


def _type_changed() -> tuple[Inputs, Inputs]:
    published = dataset("raw")
    now_derived = dataset("raw", dataset_type="derived")
    seen = observed(observed_from(published, "p/1"))
    broken = (state((now_derived,)), seen, lockfile(locked(published, "p/1")))
    # "give the entry a new key to create a new dataset"
    renamed = dataset("raw-derived", dataset_type="derived")
    return broken, (state((renamed,)), seen, lockfile(locked(published, "p/1")))


def _files_changed() -> tuple[Inputs, Inputs]:
    old = dataset("raw", files=(local_file("a.h5", "old"),))
    new = dataset("raw", files=(local_file("a.h5", "new content"),))
    seen, recorded = observed(observed_from(old, "p/1")), lockfile(locked(old, "p/1"))
    # "set `on_files_changed: replace`"
    replacing = dataset("raw", files=new.files, policy=FilesPolicy.REPLACE)
    return (state((new,)), seen, recorded), (state((replacing,)), seen, recorded)


def _files_added() -> tuple[Inputs, Inputs]:
    old = dataset("raw", files=(local_file("a.h5"),))
    more = (local_file("a.h5"), local_file("b.h5", "more"))
    seen, recorded = observed(observed_from(old, "p/1")), lockfile(locked(old, "p/1"))
    # "set `append_files: true`"
    appending = dataset("raw", files=more, append=True)
    return (state((dataset("raw", files=more),)), seen, recorded), (
        state((appending,)),
        seen,
        recorded,
    )


@dataclass(frozen=True)
class Case:
    kind: ConflictKind
    make: Callable[[], tuple[Inputs, Inputs]]
    then: Action  # what the plan does once the hint is followed


CASES = [
    Case(ConflictKind.RECORD_GONE, _record_gone, Action.CREATE),
    Case(ConflictKind.TYPE_CHANGED, _type_changed, Action.CREATE),
    Case(ConflictKind.FILES_CHANGED, _files_changed, Action.REPLACE),
    Case(ConflictKind.FILES_ADDED, _files_added, Action.UPDATE),
]


@pytest.mark.parametrize("case", CASES, ids=[c.kind.value for c in CASES])
def test_following_the_hint_clears_the_conflict(case: Case) -> None:
    broken, followed = case.make()
    before = _plan(broken)
    assert [c.kind for c in before.conflicts] == [case.kind]
    assert before.conflicts[0].hint  # there is a fix to follow
    after = _plan(followed)
    assert after.conflicts == ()
    assert case.then in {change.action for change in after.changes}
