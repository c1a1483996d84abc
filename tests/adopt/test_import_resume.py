"""`scisync import` killed right after its marker PATCH: run again, it resumes without
setting the marker a second time and ends with the dataset recorded in scisync.lock."""

from __future__ import annotations

import json
from pathlib import Path

from scisync.lock.io import read_lock
from scisync.sandbox import SandboxServer

from .import_project import (
    KEY,
    MANIFEST,
    RAW,
    create_dataset,
    dataset_document,
    import_in_subprocess,
)

MARK_DONE = f"after-set-marker:dataset.{KEY}"


def _updated_at(sandbox: SandboxServer, token: str, pid: str) -> str:
    document = dataset_document(sandbox, token, pid)
    assert document["scientificMetadata"]["scisync_marker"] == f"adopt-test/{KEY}"
    return str(document["updatedAt"])


def _kill_point(tmp_path: Path, scicat_sandbox: SandboxServer, token: str) -> int:
    """The number of the checkpoint just after the PATCH, from a run on a twin project."""
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "scisync.yaml").write_text(
        MANIFEST.format(url=scicat_sandbox.url, store=tmp_path / "twin-store").replace(
            "project: adopt-test", "project: adopt-twin"
        )
    )
    log = tmp_path / "checkpoints.log"
    pid = create_dataset(scicat_sandbox, token, RAW)
    result = import_in_subprocess(twin, token, pid, SCISYNC_TEST_CHECKPOINT_LOG=str(log))
    assert result.returncode == 0, result.stderr
    names = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    assert f"before-set-marker:dataset.{KEY}" in names  # the PATCH is an apply step
    return names.index(MARK_DONE) + 1


def test_import_killed_after_the_marker_resumes_without_a_second_patch(
    tmp_path: Path, project: Path, scicat_sandbox: SandboxServer
) -> None:
    token = scicat_sandbox.login("ingestor")
    kill_at = _kill_point(tmp_path, scicat_sandbox, token)
    pid = create_dataset(scicat_sandbox, token, RAW)

    killed = import_in_subprocess(project, token, pid, SCISYNC_TEST_KILL_AT=str(kill_at))
    assert killed.returncode == -9, killed.stderr
    marked_at = _updated_at(scicat_sandbox, token, pid)  # the PATCH went through
    journal_text = (project / ".scisync/journal.jsonl").read_text()
    journal = [json.loads(line) for line in journal_text.splitlines()]
    assert [(e["phase"], e["step"]) for e in journal] == [
        ("intent", "set-marker"),
        ("done", "set-marker"),
    ]  # intent journaled before the PATCH, and its completion after
    assert f"key: {KEY}" not in (project / "scisync.yaml").read_text()
    assert read_lock(project / "scisync.lock") is None

    log = tmp_path / "resumed.log"
    scicat_sandbox.reset_stats()
    resumed = import_in_subprocess(project, token, pid, SCISYNC_TEST_CHECKPOINT_LOG=str(log))
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["marker_set"] is False and report["adopted"] is True
    steps = log.read_text() if log.exists() else ""
    assert "set-marker" not in steps  # no second PATCH ...
    assert [r for r in scicat_sandbox.stats() if r.startswith("PATCH")] == []
    assert _updated_at(scicat_sandbox, token, pid) == marked_at  # ... SciCat agrees
    lock = read_lock(project / "scisync.lock")
    assert lock is not None and lock.datasets[KEY].pid == pid
    assert not (project / ".scisync/journal.jsonl").exists()
    assert (project / "scisync.yaml").read_text().count(f"key: {KEY}") == 1
