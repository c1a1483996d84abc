"""The README's first command: the quickstart, end to end on the embedded sandbox."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.cli_process import child_environment, scisync_process

from .workspace import QUICKSTART


def _scisync(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return scisync_process(args, child_environment(), cwd=cwd)


def test_readme_quickstart_runs_end_to_end(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".scisync*", "scisync.lock"))

    planned = _scisync(project, "plan")
    assert planned.returncode == 0, planned.stderr
    assert "Plan: 2 to create" in planned.stdout

    applied = _scisync(project, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete: 2 created" in applied.stdout + applied.stderr
    assert (project / "scisync.lock").exists()
    assert sorted(p.name for p in (project / ".scisync-storage").rglob("*.csv")) == [
        "frame-001.csv",
        "frame-002.csv",
        "frame-003.csv",
    ]

    unchanged = _scisync(project, "plan", "--detailed-exitcode")
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert "No changes" in unchanged.stdout

    text = (project / "scisync.yaml").read_text()
    (project / "scisync.yaml").write_text(text.replace("three detector frames", "3 frames"))
    changed = _scisync(project, "plan", "--detailed-exitcode")
    assert changed.returncode == 2
    assert "~ dataset.calibration-scan" in changed.stdout
