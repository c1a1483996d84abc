"""docs/getting-started.md works as written: its shell blocks run, in order, in bash.

Three substitutions, because a test has no terminal, no network and no browser: the
install lines are replaced by a `scisync` on PATH that runs this checkout, the interactive
`scisync apply` (which asks for confirmation) gets `--auto-approve`, as the page says
scripts should, and where the reader opens the sandbox's web page in a browser, the test
signs in and reads the datasets page (on a free port instead of 3000).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "getting-started.md"
INSTALL_LINES = ("python3 -m venv", ". .venv/bin/activate", "pip install")


LOOK = Path(__file__).with_name("look_at_sandbox.py")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _script(looked: Path) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    lines = []
    port = _free_port()
    for block in blocks:
        for line in block.splitlines():
            if line.startswith(INSTALL_LINES):
                continue
            if line.strip() == "scisync apply":
                line = "scisync apply --auto-approve"
            if line.startswith("scisync sandbox ") and line.rstrip().endswith("&"):
                lines.append(line.replace("--port 3000", f"--port {port}"))
                lines.append(f'"{sys.executable}" "{LOOK}" {port} > "{looked}"')
                continue
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
        ["bash", "-c", _script(tmp_path / "looked.html")],
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
    looked = (tmp_path / "looked.html").read_text(encoding="utf-8")
    assert 'Signed in as <strong id="signed-in-user">ingestor</strong>' in looked
    assert ">Example results</a>" in looked
    assert "Two SAXS curves from the tour." in looked
    tour = tmp_path / "home" / "scisync-tour"
    assert sorted(p.name for p in (tour / "replica" / "data" / "curves").iterdir()) == [
        "curve-1.csv",
        "curve-2.csv",
    ]
    assert (tour / "replica" / "scisync.lock").read_text() == (
        tour / "collaborator" / "scisync.lock"
    ).read_text()
