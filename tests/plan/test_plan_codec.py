from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scisync.errors import PlanError
from scisync.plan.codec import (
    dumps_plan,
    load_plan,
    plan_digest,
    plan_from_json,
    plan_summary,
    plan_to_json,
    save_plan,
)
from scisync.plan.model import PLAN_FORMAT_VERSION, Plan
from scisync.schemas import schema_violations
from tests.plan.plan_samples import empty_plan, many_files_plan, sample_plan

PLANS = [sample_plan(), empty_plan(), many_files_plan(15)]


@pytest.mark.parametrize("plan", PLANS)
def test_round_trip_is_lossless(plan: Plan) -> None:
    data = plan_to_json(plan)
    assert plan_from_json(data, "<test>") == plan
    # Through text too: JSON numbers, nested bodies, unicode all survive.
    assert plan_from_json(json.loads(json.dumps(data)), "<test>") == plan


@pytest.mark.parametrize("plan", PLANS)
def test_output_validates_against_schema(plan: Plan) -> None:
    assert schema_violations("plan", plan_to_json(plan)) == []


def test_json_shape() -> None:
    data = plan_to_json(sample_plan())
    assert data["format_version"] == PLAN_FORMAT_VERSION
    changes = data["changes"]
    assert isinstance(changes, list)
    first = changes[0]
    assert isinstance(first, dict)
    assert first["address"] == "dataset.raw"
    assert first["action"] == "create"
    run1 = changes[1]
    assert isinstance(run1, dict)
    assert run1["body"] == {
        "datasetName": "Run 1",
        "inputDatasets": [{"$ref": "dataset.raw"}],
        "size": 1.5,
    }


def test_summary_counts() -> None:
    summary = plan_summary(sample_plan())
    assert summary["create"] == 2
    assert summary["update"] == 1
    assert summary["replace"] == 1
    assert summary["forget"] == 1
    assert summary["adopt"] == 1
    assert summary["download"] == 1
    assert summary["no-op"] == 1
    assert summary["upload_files"] == 4
    assert summary["download_files"] == 1
    assert summary["download_bytes"] == 1024 * 1024
    assert summary["has_changes"] is True
    assert plan_summary(empty_plan())["has_changes"] is False


def test_derived_fields_are_ignored_on_load() -> None:
    data = plan_to_json(sample_plan())
    summary = data["summary"]
    assert isinstance(summary, dict)
    summary["create"] = 99
    data["digest"] = plan_digest(data)  # an edit with its digest made anew
    assert plan_from_json(data, "<test>") == sample_plan()


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["summary"].update(create=99),
        lambda d: d["changes"][0].update(action="delete"),
        lambda d: d["changes"][1]["files"][0].update(size=0),
        lambda d: d["fingerprint"].update(observed="x"),
        lambda d: d.update(project="another"),
        lambda d: d["changes"].reverse(),
        lambda d: d.update(digest=d["digest"].upper()),
    ],
    ids=["summary", "action", "file-size", "fingerprint", "project", "order", "digest-case"],
)
def test_a_changed_plan_is_refused(edit: Callable[[Any], object]) -> None:
    data = json.loads(json.dumps(plan_to_json(sample_plan())))
    edit(data)
    with pytest.raises(PlanError) as raised:
        plan_from_json(data, "plan.json")
    assert str(raised.value).startswith("plan.json: the saved plan was changed after it was saved")


def test_a_plan_without_digest_is_refused() -> None:
    data = plan_to_json(sample_plan())
    del data["digest"]
    with pytest.raises(PlanError, match="has no digest"):
        plan_from_json(data, "plan.json")


def test_the_digest_survives_saving_and_loading_every_value(tmp_path: Path) -> None:
    """Floats, unicode, nested metadata: what json writes and reads back digests the same."""
    first, *rest = sample_plan().changes
    body = {"x": 0.1, "big": 1e300, "tiny": -0.0, "text": "ü\u2028日本", "deep": [[{"a": None}]]}
    plan = dataclasses.replace(
        sample_plan(), changes=(dataclasses.replace(first, body=body), *rest)
    )
    path = tmp_path / "p.json"
    save_plan(path, plan)
    assert load_plan(path) == plan


def test_newer_format_refused() -> None:
    data = plan_to_json(sample_plan())
    data["format_version"] = PLAN_FORMAT_VERSION + 1
    data["new_thing"] = True
    with pytest.raises(PlanError) as raised:
        plan_from_json(data, "plan.json")
    message = str(raised.value)
    assert f"newer scisync (plan format {PLAN_FORMAT_VERSION + 1})" in message
    assert "pip install -U scisync" in message
    assert message.startswith("plan.json: ")


def test_invalid_plan_names_the_field() -> None:
    data = plan_to_json(sample_plan())
    changes = data["changes"]
    assert isinstance(changes, list) and isinstance(changes[2], dict)
    changes[2]["action"] = "delete"
    data["digest"] = plan_digest(data)
    with pytest.raises(PlanError) as raised:
        plan_from_json(data, "plan.json")
    assert "plan.json: $.changes[2].action" in str(raised.value)
    assert "'delete' is not one of" in str(raised.value)


def test_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "tfplan.json"
    save_plan(path, sample_plan())
    assert load_plan(path) == sample_plan()
    assert path.read_text() == dumps_plan(sample_plan())
    assert [p.name for p in tmp_path.iterdir()] == ["tfplan.json"]


def test_save_overwrites_atomically(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(path, sample_plan())
    inode = path.stat().st_ino
    other = dataclasses.replace(empty_plan(), warnings=("w",))
    save_plan(path, other)
    assert path.stat().st_ino != inode
    assert load_plan(path) == other


def test_load_missing_and_broken(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="does not exist"):
        load_plan(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "format_version": 1,\n  oops\n}\n')
    with pytest.raises(PlanError) as raised:
        load_plan(broken)
    assert f"{broken}:3:3" in str(raised.value)


def test_save_into_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot save the plan"):
        save_plan(tmp_path / "missing" / "plan.json", sample_plan())


def test_invalid_saved_plan_points_at_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(path, sample_plan())
    text = path.read_text()
    assert text.count('"action": "forget"') == 1
    edited = text.replace('"action": "forget"', '"action": "delete"')
    # with its digest made anew (same length), so that the schema check is what refuses it
    old_digest = json.loads(edited)["digest"]
    path.write_text(edited.replace(old_digest, plan_digest(json.loads(edited))))
    lines = path.read_text().splitlines()
    line = next(n for n, content in enumerate(lines, 1) if '"delete"' in content)
    column = lines[line - 1].index('"delete"') + 1
    with pytest.raises(PlanError) as raised:
        load_plan(path)
    assert f"{path}:{line}:{column}: $.changes[4].action" in str(raised.value)
