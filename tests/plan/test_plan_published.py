"""The planner's lifecycle decisions for publications (SciCat PublishedData records),
one table row per case: what SciCat holds x what the manifest says -> action/conflict."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from scisync.desired.model import DesiredPublication
from scisync.desired.publications import desired_publications
from scisync.lock.model import LockedPublication, Lockfile
from scisync.manifest.model import KeyRef, PidRef, PublicationSpec
from scisync.observe.model import ObservedPublication, ObservedState
from scisync.plan.codec import plan_from_json, plan_to_json
from scisync.plan.model import Action, ConflictKind, ResourceKind
from scisync.plan.planner import PlanOptions, make_plan
from tests.plan.factories import FINGERPRINT, PROJECT, dataset, observed, observed_from, state

DOI = "10.5072/abc"
METADATA = {
    "creators": [{"name": "Curie, Marie"}],
    "publisher": {"name": "PSI", "publisherIdentifierScheme": "ROR"},
    "publicationYear": 2026,
    "resourceType": "Dataset",
}


def publication(*, title: str = "Powder study", register: bool = False) -> DesiredPublication:
    spec = PublicationSpec(
        key="paper",
        title=title,
        abstract="What we measured.",
        datasets=(PidRef("20.500/raw-1"),),
        metadata=METADATA,
        register=register,
    )
    manifest = type("M", (), {"project": PROJECT, "published_data": (spec,)})()
    (built,) = desired_publications(manifest)  # type: ignore[arg-type]
    return built


def record(desired: DesiredPublication, status: str, **changes: object) -> ObservedPublication:
    fields = {**desired.body, "doi": DOI, "status": status, "createdAt": "2026-01-01", **changes}
    return ObservedPublication(doi=DOI, status=status, fields=fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    name: str
    status: str | None  # what SciCat holds (None: no record)
    changed: bool  # the manifest's title differs from the record's
    register: bool
    action: Action
    registers: bool = False
    conflict: ConflictKind | None = None
    locked: bool = True


CASES = [
    Case("new", None, False, False, Action.CREATE),
    Case("new, register", None, False, True, Action.CREATE, registers=True),
    Case("private, unchanged", "private", False, False, Action.NOOP),
    Case("private, unchanged, not in lock", "private", False, False, Action.ADOPT, locked=False),
    Case("private, changed", "private", True, False, Action.UPDATE),
    Case("public, changed", "public", True, False, Action.UPDATE),
    Case("private, changed, register", "private", True, True, Action.UPDATE, registers=True),
    Case("private, register", "private", False, True, Action.REGISTER, registers=True),
    Case("public, register", "public", False, True, Action.REGISTER, registers=True),
    Case("registered, unchanged", "registered", False, True, Action.NOOP),
    Case("registered, unchanged, register false", "registered", False, False, Action.NOOP),
    Case(
        "registered, unchanged, not in lock", "registered", False, True, Action.ADOPT, locked=False
    ),
    Case(
        "registered, changed",
        "registered",
        True,
        True,
        Action.NOOP,
        conflict=ConflictKind.REGISTERED_CHANGED,
    ),
    Case(
        "amended, changed",
        "amended",
        True,
        False,
        Action.NOOP,
        conflict=ConflictKind.REGISTERED_CHANGED,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_lifecycle_decisions(case: Case) -> None:
    desired = publication(
        title="New title" if case.changed else "Powder study", register=case.register
    )
    as_created = publication()
    found = {} if case.status is None else {desired.marker: (record(as_created, case.status),)}
    recorded = Lockfile(project=PROJECT)
    if case.locked and case.status is not None:
        entry = LockedPublication("paper", DOI, case.status, as_created.fields_digest)
        recorded = Lockfile(project=PROJECT, publications={"paper": entry})
    plan = make_plan(
        replace(state(), publications=(desired,)),
        ObservedState(publications=found),
        recorded,
        FINGERPRINT,
    )
    (change,) = plan.changes
    assert change.kind is ResourceKind.PUBLICATION
    assert (change.action, change.registers) == (case.action, case.registers)
    assert [c.kind for c in plan.conflicts] == ([case.conflict] if case.conflict else [])
    if case.status is not None:
        assert change.pid == DOI
    if case.action is Action.UPDATE:
        assert change.patch == {"title": "New title"}  # whole top-level fields ($set)
    assert plan_from_json(plan_to_json(plan), "test") == plan  # a saved plan keeps it all


def test_registered_conflict_names_the_key_the_doi_what_differs_and_the_way_out() -> None:
    desired = publication(title="New title", register=True)
    found = {desired.marker: (record(publication(), "registered"),)}
    plan = make_plan(
        replace(state(), publications=(desired,)),
        ObservedState(publications=found),
        None,
        FINGERPRINT,
    )
    (conflict,) = plan.conflicts
    assert conflict.address == "publication.paper"
    assert DOI in conflict.what and "title" in conflict.what and "registered" in conflict.what
    assert "amend" in conflict.hint and "new DOI" in conflict.hint
    assert "revert the manifest" in conflict.hint


def test_two_records_with_the_marker_are_a_conflict() -> None:
    desired = publication()
    one = record(desired, "private")
    two = replace(one, doi="10.5072/other")
    plan = make_plan(
        replace(state(), publications=(desired,)),
        ObservedState(publications={desired.marker: (one, two)}),
        None,
        FINGERPRINT,
    )
    assert [c.kind for c in plan.conflicts] == [ConflictKind.DUPLICATE_MARKER]
    assert "10.5072/other" in plan.conflicts[0].what


def test_a_locked_doi_whose_record_is_gone_is_a_conflict_not_a_second_record() -> None:
    desired = publication()
    entry = LockedPublication("paper", DOI, "private", desired.fields_digest)
    plan = make_plan(
        replace(state(), publications=(desired,)),
        ObservedState(),
        Lockfile(project=PROJECT, publications={"paper": entry}),
        FINGERPRINT,
    )
    assert plan.changes[0].action is Action.NOOP
    assert [c.kind for c in plan.conflicts] == [ConflictKind.RECORD_GONE]


def test_related_datasets_created_in_the_same_apply_come_first() -> None:
    derived = dataset("reduced", dataset_type="derived", inputs=(PidRef("20.500/raw-1"),))
    spec = PublicationSpec("paper", "T", "A", (KeyRef("reduced"),), METADATA, register=True)
    manifest = type("M", (), {"project": PROJECT, "published_data": (spec,)})()
    (desired,) = desired_publications(manifest)  # type: ignore[arg-type]
    plan = make_plan(
        replace(state(datasets=(derived,)), publications=(desired,)),
        ObservedState(),
        None,
        FINGERPRINT,
    )
    addresses = [c.address for c in plan.changes]
    assert addresses.index("dataset.reduced") < addresses.index("publication.paper")
    (change,) = [c for c in plan.changes if c.kind is ResourceKind.PUBLICATION]
    assert change.depends_on == ("dataset.reduced",)
    assert change.body is not None and change.body["datasetPids"] == [{"$ref": "dataset.reduced"}]


def test_an_existing_related_dataset_is_compared_by_its_pid() -> None:
    derived = dataset("reduced", dataset_type="derived", inputs=(PidRef("20.500/raw-1"),))
    spec = PublicationSpec("paper", "T", "A", (KeyRef("reduced"),), METADATA)
    manifest = type("M", (), {"project": PROJECT, "published_data": (spec,)})()
    (desired,) = desired_publications(manifest)  # type: ignore[arg-type]
    fields = {**desired.body, "datasetPids": ["pid/reduced"], "status": "registered"}
    found = ObservedPublication(DOI, "registered", fields)  # type: ignore[arg-type]
    plan = make_plan(
        replace(state(datasets=(derived,)), publications=(desired,)),
        replace(
            observed(observed_from(derived, "pid/reduced")),
            publications={desired.marker: (found,)},
        ),
        None,
        FINGERPRINT,
    )
    assert plan.conflicts == ()
    assert plan.by_address()["publication.paper"].action is Action.ADOPT


def test_pull_plans_leave_publications_alone() -> None:
    plan = make_plan(
        replace(state(), publications=(publication(),)),
        ObservedState(),
        None,
        FINGERPRINT,
        PlanOptions(downloads_only=True),
    )
    assert plan.changes == ()
