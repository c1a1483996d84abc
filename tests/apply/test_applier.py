"""The applier against the sandbox: ordering, journal, resume, and one failing entry.

Plans come from the planner (:func:`scisync.api.plan`); the :class:`Applier` runs them
directly, with the real SciCat client over HTTP and local storage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from scisync import api
from scisync.apply.journal import JournalEntry
from scisync.errors import ApiError, ScisyncError
from scisync.lock.io import read_lock
from scisync.plan.model import Action

from .applier_setup import Setup, Watched

RAWS = ("dataset.raw-1", "dataset.raw-2", "dataset.raw-3")

# The journal step each kind of SciCat write belongs to.
STEP_OF_WRITE = {
    "create_sample": "create-sample",
    "create_dataset": "create-dataset",
    "create_origdatablock": "register-files",
    "create_attachment": "attach",
}


class Crash(BaseException):
    """The process dies: not a ScisyncError, so nothing catches it on the way up."""


def _position(entries: list[JournalEntry], phase: str, step: str, address: str) -> int:
    for number, entry in enumerate(entries):
        if (entry.phase, entry.step, entry.address) == (phase, step, address):
            return number
    raise AssertionError(f"no {phase} {step} for {address} in the journal")


def _address(context: str) -> str:
    kind, _, key = context.partition(" ")  # the client's context: "dataset raw-1"
    return f"{kind}.{key}"


def test_the_plan_from_the_planner_has_the_dependencies_the_tests_rely_on(setup: Setup) -> None:
    changes = setup.plan().by_address()
    assert {a: c.action for a, c in changes.items()} == {
        "sample.crystal": Action.CREATE,
        **{address: Action.CREATE for address in RAWS},
        "dataset.reduced-1": Action.CREATE,
        "dataset.reduced-2": Action.CREATE,
    }
    assert all(changes[a].depends_on == ("sample.crystal",) for a in RAWS)
    assert changes["dataset.reduced-1"].depends_on == ("dataset.raw-1",)


def test_dependencies_first_and_each_dataset_in_its_order(setup: Setup) -> None:
    plan = setup.plan()
    results = setup.applier(plan, workers=4).run()
    entries = setup.journal.entries()  # left in place: api.apply is what finishes it

    sample_done = _position(entries, "done", "create-sample", "sample.crystal")
    for raw in RAWS:
        upload = _position(entries, "done", "upload", raw)
        created = _position(entries, "intent", "create-dataset", raw)
        created_done = _position(entries, "done", "create-dataset", raw)
        files = _position(entries, "intent", "register-files", raw)
        assert sample_done < created  # samples before the datasets that refer to them
        assert upload < created < created_done < files  # files on storage, record, list
    attach = _position(entries, "intent", "attach", "dataset.raw-1")
    assert _position(entries, "done", "register-files", "dataset.raw-1") < attach
    for number in (1, 2):
        source = _position(entries, "done", "create-dataset", f"dataset.raw-{number}")
        assert source < _position(entries, "intent", "create-dataset", f"dataset.reduced-{number}")

    by_pid = {d["pid"]: d for d in setup.datasets()}
    reduced = by_pid[results.pids["dataset.reduced-1"]]
    assert reduced["inputDatasets"] == [results.pids["dataset.raw-1"]]  # the key, resolved
    raw = by_pid[results.pids["dataset.raw-1"]]
    assert raw["sampleIds"] == [results.pids["sample.crystal"]]


def test_every_write_is_journaled_as_intent_before_it_happens(setup: Setup) -> None:
    seen: list[tuple[str, str, str | None]] = []

    def before(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        address = _address(str(kwargs["context"]))
        step = STEP_OF_WRITE[name]
        # Read back from disk, as a crashed process's successor would.
        mine = [e.phase for e in setup.journal.entries() if (e.step, e.address) == (step, address)]
        seen.append((name, address, mine[-1] if mine else None))

    setup.applier(setup.plan(), Watched(setup.connection.catalog, before=before)).run()
    assert Counter(name for name, _, _ in seen) == {
        "create_sample": 1,
        "create_dataset": 5,
        "create_origdatablock": 3,
        "create_attachment": 1,
    }
    late = [(name, address) for name, address, phase in seen if phase != "intent"]
    assert late == []


@pytest.mark.parametrize(
    ("write", "nth"),
    [
        ("create_sample", 1),
        ("create_dataset", 1),
        ("create_dataset", 4),
        ("create_origdatablock", 2),
        ("create_attachment", 1),
    ],
)
def test_a_run_killed_after_a_write_resumes_without_doing_anything_twice(
    setup: Setup, write: str, nth: int
) -> None:
    done: Counter[str] = Counter()

    def after(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        done[name] += 1
        if name == write and done[name] == nth:
            raise Crash  # the write reached SciCat; its answer and the journal's "done" did not

    with pytest.raises(Crash):
        setup.applier(setup.plan(), Watched(setup.connection.catalog, after=after), 2).run()
    assert setup.journal.entries()  # the interrupted run left its journal

    resumed = api.apply(setup.project, setup.connection, setup.plan())
    assert set(resumed.lock.datasets) == {"raw-1", "raw-2", "raw-3", "reduced-1", "reduced-2"}
    assert not setup.plan().has_changes

    datasets = setup.datasets()
    markers = Counter(d["scientificMetadata"]["scisync_marker"] for d in datasets)
    assert len(datasets) == 5 and set(markers.values()) == {1}
    for dataset in datasets:
        paths = [f["path"] for b in dataset.get("origdatablocks", []) for f in b["dataFileList"]]
        assert len(paths) == len(set(paths))  # no file listed twice
        assert len(paths) == (3 if dataset["type"] == "raw" else 0)
        assert len(dataset.get("attachments", [])) == (
            1 if dataset["datasetName"] == "Raw run 1" else 0
        )
    assert [s["sampleId"] for s in setup.samples()] == [resumed.lock.samples["crystal"].sample_id]


def test_one_failing_entry_stops_only_its_dependants_and_the_rest_is_recorded(
    setup: Setup,
) -> None:
    def before(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        if name == "create_dataset" and kwargs["context"] == "dataset raw-2":
            raise ApiError("SciCat refused raw-2 (injected)", where="dataset raw-2", status=400)

    broken = replace(setup.connection, catalog=Watched(setup.connection.catalog, before=before))
    with pytest.raises(ScisyncError) as failure:
        api.apply(setup.project, broken, setup.plan())
    assert [p.what for p in failure.value.problems] == ["SciCat refused raw-2 (injected)"]

    names = sorted(d["datasetName"] for d in setup.datasets())
    assert names == ["Raw run 1", "Raw run 3", "Reduced run 1"]  # reduced-2 waits for raw-2
    lock = read_lock(setup.project.lock_path)
    assert lock is not None
    assert set(lock.datasets) == {"raw-1", "raw-3", "reduced-1"}
    assert set(lock.samples) == {"crystal"}

    retried = setup.plan()
    assert {c.key for c in retried.changes if c.action is Action.CREATE} == {"raw-2", "reduced-2"}
