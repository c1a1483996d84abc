"""The adopt plan of `scisync import` is plain plan data: one `mark` change that renders,
validates against the plan schema and round-trips like any other plan."""

from __future__ import annotations

import json
from pathlib import Path

from scisync.adopt.importer import ImportDraft, marking_plan
from scisync.apply.lockbuild import updated_lock
from scisync.lock.model import Lockfile
from scisync.plan.codec import plan_from_json, plan_summary
from scisync.plan.model import Action
from scisync.render.json import render_plan_json
from scisync.render.text import render_plan_text
from scisync.schemas import schema_violations
from tests.plan.plan_samples import sample_plan


def _draft(*, marker_set: bool) -> ImportDraft:
    return ImportDraft(
        key="run-7",
        pid="20.500.12269/abc",
        manifest_path=Path("/project/scisync.yaml"),
        marker="demo/run-7",
        entry={"key": "run-7"},
        text="",
        marker_set=marker_set,
    )


def test_the_plan_sets_only_the_marker() -> None:
    (change,) = marking_plan("demo", _draft(marker_set=True)).changes
    assert (change.action, change.address, change.pid) == (
        Action.MARK,
        "dataset.run-7",
        "20.500.12269/abc",
    )
    assert change.patch == {"scientificMetadata": {"scisync_marker": "demo/run-7"}}


def test_a_dataset_already_marked_gets_an_empty_plan() -> None:
    assert not marking_plan("demo", _draft(marker_set=False)).has_changes


def test_it_renders_validates_and_round_trips() -> None:
    plan = marking_plan("demo", _draft(marker_set=True))
    data = json.loads(render_plan_json(plan))
    assert schema_violations("plan", data) == []
    assert data["summary"]["mark"] == 1
    assert plan_from_json(data, "<test>") == plan
    text = render_plan_text(plan, color=False)
    assert "dataset.run-7 will get scisync's marker" in text
    assert text.rstrip().endswith("1 to mark, 0 to forget, 0 files to upload, 0 files to download.")


def test_other_plans_do_not_show_a_mark_count() -> None:
    assert "mark" not in plan_summary(sample_plan())


def test_the_marker_alone_records_nothing_in_the_lockfile() -> None:
    plan = marking_plan("demo", _draft(marker_set=True))
    lock = updated_lock(
        Lockfile(project="demo"), plan, {"dataset.run-7": "20.500.12269/abc"}, {}, {}
    )
    assert lock.datasets == {}
