"""Files of a published dataset: refused, replaced by a superseding dataset, or appended."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import requests

from scisync.errors import ExitCode

from .workspace import Workspace


def _datasets(workspace: Workspace) -> list[dict[str, object]]:
    answer = requests.get(
        workspace.sandbox.root_url + "/v4/datasets",
        params={"filter": json.dumps({"include": ["origdatablocks"], "limits": {"limit": 1000}})},
        headers={"Authorization": f"Bearer {workspace.token}"},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def _files(document: dict[str, object]) -> list[str]:
    return sorted(
        str(f["path"])
        for block in document.get("origdatablocks", [])  # type: ignore[attr-defined]
        for f in block["dataFileList"]
    )


def test_changed_file_is_refused_by_default_and_nothing_is_touched(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    (workspace.root / "runs" / "run-1" / "frame-2.dat").write_text("re-reduced\n")
    before = workspace.lock.read_bytes()
    result = workspace.run("plan")
    assert result.exit_code == ExitCode.ERROR
    assert "raw-1" in result.output and "frame-2.dat" in result.output
    assert "on_files_changed: replace" in result.output
    assert workspace.run("apply", "--auto-approve").exit_code == ExitCode.ERROR
    assert workspace.lock.read_bytes() == before
    assert len(_datasets(workspace)) == 3


def test_changed_file_with_replace_policy_publishes_a_superseding_dataset(
    workspace: Workspace,
) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    old_pid = json.loads(workspace.lock.read_text())["datasets"]["raw-1"]["pid"]
    workspace.edit(
        "dataset_name: Raw run 1\n", "dataset_name: Raw run 1\n  on_files_changed: replace\n"
    )
    (workspace.root / "runs" / "run-1" / "frame-2.dat").write_text("re-reduced\n")
    planned = workspace.run("plan")
    assert planned.exit_code == 0, planned.output
    assert "dataset.raw-1" in planned.output and "frame-2.dat" in planned.output
    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output

    lock = json.loads(workspace.lock.read_text())
    new_pid = lock["datasets"]["raw-1"]["pid"]
    assert new_pid != old_pid and lock["datasets"]["raw-1"]["supersedes"] == [old_pid]
    documents = {d["pid"]: d for d in _datasets(workspace)}
    assert len(documents) == 4  # the old one stays: SciCat datasets cannot be deleted
    new = documents[new_pid]
    assert new["scientificMetadata"]["scisync_supersedes"] == old_pid  # type: ignore[index]
    assert new["sourceFolder"] != documents[old_pid]["sourceFolder"]  # old files untouched
    # the derived dataset now refers to the replacement
    reduced = next(d for d in documents.values() if d["datasetName"] == "Reduced")
    assert new_pid in reduced["inputDatasets"]  # type: ignore[operator]
    assert old_pid not in reduced["inputDatasets"]  # type: ignore[operator]
    assert workspace.run("plan", "--detailed-exitcode").exit_code == ExitCode.OK


def test_added_file_is_appended_when_allowed(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    (workspace.root / "runs" / "run-2" / "frame-4.dat").write_text("one more frame\n")
    refused = workspace.run("plan")
    assert refused.exit_code == ExitCode.ERROR and "append_files: true" in refused.output
    workspace.edit("dataset_name: Raw run 2\n", "dataset_name: Raw run 2\n  append_files: true\n")
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    raw2 = next(d for d in _datasets(workspace) if d["datasetName"] == "Raw run 2")
    assert _files(raw2) == ["frame-1.dat", "frame-2.dat", "frame-3.dat", "frame-4.dat"]
    assert workspace.run("plan", "--detailed-exitcode").exit_code == ExitCode.OK


def test_lockfile_is_byte_identical_when_written_from_another_folder(
    workspace: Workspace, tmp_path: Path
) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    elsewhere = tmp_path / "another-machine"
    shutil.copytree(
        workspace.root, elsewhere, ignore=shutil.ignore_patterns("scisync.lock", ".scisync")
    )
    other = Workspace(
        root=elsewhere, sandbox=workspace.sandbox, token=workspace.token, store=workspace.store
    )
    assert other.run("apply", "--auto-approve").exit_code == 0
    assert other.lock.read_bytes() == workspace.lock.read_bytes()
    assert len(_datasets(workspace)) == 3
