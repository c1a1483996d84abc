"""docs/getting-started.md works as written: its shell blocks run, in order, in bash.

Two substitutions, both because a test has no terminal and no network: the install
lines are replaced by a `scisync` on PATH that runs this checkout, and the interactive
`scisync apply` (which asks for confirmation) gets `--auto-approve`, as the page says
scripts should.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "getting-started.md"
INSTALL_LINES = ("python3 -m venv", ". .venv/bin/activate", "pip install")


def _script() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    lines = []
    for block in blocks:
        for line in block.splitlines():
            if line.startswith(INSTALL_LINES):
                continue
            if line.strip() == "scisync apply":
                line = "scisync apply --auto-approve"
            lines.append(line)
    return "set -euo pipefail\n" + "\n".join(lines) + "\n"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_getting_started_tour_runs_as_written(tmp_path: Path) -> None:
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "scisync").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m scisync "$@"\n')
    (shim / "scisync").chmod(0o755)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SCICAT_", "SCISYNC_"))},
        "HOME": str(tmp_path / "home"),
        "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    (tmp_path / "home").mkdir()
    done = subprocess.run(
        ["bash", "-c", _script()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "valid (1 dataset, 0 samples, 0 downloads)" in output
    assert "+ dataset.example-results will be created" in output
    assert "exit code: 0" in output
    assert "~ dataset.example-results will be updated in place" in output
    assert "identical" in output
    tour = tmp_path / "home" / "scisync-tour"
    assert sorted(p.name for p in (tour / "replica" / "data" / "curves").iterdir()) == [
        "curve-1.csv",
        "curve-2.csv",
    ]
    assert (tour / "replica" / "scisync.lock").read_text() == (
        tour / "collaborator" / "scisync.lock"
    ).read_text()
