"""plan -> apply -> plan against the sandbox over HTTP with local storage, through the CLI."""

from __future__ import annotations

import json

import requests

from scisync.errors import ExitCode

from .workspace import Workspace


def _datasets(workspace: Workspace) -> list[dict[str, object]]:
    answer = requests.get(
        workspace.sandbox.root_url + "/v4/datasets",
        params={"filter": json.dumps({"limits": {"limit": 1000}})},
        headers={"Authorization": f"Bearer {workspace.token}"},
        timeout=10,
    )
    answer.raise_for_status()
    found = answer.json()
    assert isinstance(found, list)
    return found


def test_empty_catalogue_plans_creates_then_apply_converges(workspace: Workspace) -> None:
    planned = workspace.run("plan", "--detailed-exitcode")
    assert planned.exit_code == ExitCode.CHANGES, planned.output
    assert "+ dataset.raw-1" in planned.output and "(known after apply)" in planned.output
    assert "Plan: 4 to create" in planned.output

    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert workspace.lock.exists()
    datasets = _datasets(workspace)
    assert len(datasets) == 3
    reduced = next(d for d in datasets if d["datasetName"] == "Reduced")
    raw_pids = sorted(str(d["pid"]) for d in datasets if d["type"] == "raw")
    assert sorted(reduced["inputDatasets"]) == raw_pids  # type: ignore[arg-type]
    stored = sorted(p.name for p in workspace.store.rglob("*.dat"))
    assert stored == sorted(["frame-1.dat", "frame-2.dat", "frame-3.dat"] * 2)

    again = workspace.run("plan", "--detailed-exitcode")
    assert again.exit_code == ExitCode.OK, again.output
    assert "No changes" in again.output

    lock_bytes = workspace.lock.read_bytes()
    rerun = workspace.run("apply", "--auto-approve")
    assert rerun.exit_code == 0
    assert workspace.lock.read_bytes() == lock_bytes
    assert len(_datasets(workspace)) == 3  # nothing created twice


def test_manifest_change_is_an_update_and_exit_code_2(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    workspace.edit("description: Run 1 as measured.", "description: Run 1, recalibrated.")
    planned = workspace.run("plan", "--detailed-exitcode")
    assert planned.exit_code == ExitCode.CHANGES
    assert "~ dataset.raw-1" in planned.output
    assert "Run 1 as measured." in planned.output and "Run 1, recalibrated." in planned.output
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    raw1 = next(d for d in _datasets(workspace) if d["datasetName"] == "Raw run 1")
    assert raw1["description"] == "Run 1, recalibrated."
    assert workspace.run("plan", "--detailed-exitcode").exit_code == ExitCode.OK


def test_server_edit_shows_as_drift_and_apply_restores_it(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    raw1 = next(d for d in _datasets(workspace) if d["datasetName"] == "Raw run 1")
    patched = requests.patch(
        workspace.sandbox.root_url
        + "/v4/datasets/"
        + requests.utils.quote(str(raw1["pid"]), safe=""),
        json={"description": "edited in the web UI"},
        headers={"Authorization": f"Bearer {workspace.token}"},
        timeout=10,
    )
    assert patched.status_code == 200, patched.text
    planned = workspace.run("plan", "--detailed-exitcode")
    assert planned.exit_code == ExitCode.CHANGES
    assert "drift" in planned.output and "edited in the web UI" in planned.output
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    raw1 = next(d for d in _datasets(workspace) if d["datasetName"] == "Raw run 1")
    assert raw1["description"] == "Run 1 as measured."


def test_lost_lockfile_adopts_instead_of_duplicating(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    original = workspace.lock.read_bytes()
    workspace.lock.unlink()
    planned = workspace.run("plan")
    assert "adopt" in planned.output and "+ dataset" not in planned.output
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert len(_datasets(workspace)) == 3
    assert workspace.lock.read_bytes() == original


def test_removed_dataset_is_forgotten_and_left_in_scicat(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    text = workspace.manifest.read_text()
    start = text.index("- key: reduced")
    workspace.manifest.write_text(text[:start])
    planned = workspace.run("plan")
    assert "dataset.reduced" in planned.output and "stays in SciCat" in planned.output
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert "reduced" not in json.loads(workspace.lock.read_text())["datasets"]
    assert len(_datasets(workspace)) == 3


def test_saved_plan_applies_and_a_stale_one_is_refused(workspace: Workspace) -> None:
    assert workspace.run("plan", "--out", "plan.json").exit_code == 0
    stale_source = (workspace.root / "plan.json").read_bytes()
    assert workspace.run("apply", "plan.json").exit_code == 0
    assert len(_datasets(workspace)) == 3
    (workspace.root / "stale.json").write_bytes(stale_source)
    refused = workspace.run("apply", "stale.json")
    assert refused.exit_code == ExitCode.ERROR
    assert "stale" in refused.output and "scisync plan" in refused.output
    assert len(_datasets(workspace)) == 3


def test_apply_without_terminal_or_auto_approve_fails_clearly(workspace: Workspace) -> None:
    result = workspace.run("apply")
    assert result.exit_code == ExitCode.ERROR
    assert "--auto-approve" in result.output
    assert _datasets(workspace) == []


def test_json_plan_validates_against_the_published_schema(workspace: Workspace) -> None:
    import jsonschema

    from scisync.schemas import load_schema

    result = workspace.run("plan", "--json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    jsonschema.validate(document, load_schema("plan"))
    assert {c["action"] for c in document["changes"]} == {"create"}
