"""`scisync import` stopped by a real SIGINT or SIGTERM, as apply and pull are.

Each case runs the real CLI in a subprocess that sends itself the signal at a named point
of the import's marker step (``SCISYNC_TEST_SIGNAL_AT``), then checks the exit code, the
message, what SciCat, the manifest, the journal and the lockfile hold, and that running the
same command again finishes the import with no second PATCH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from scisync._util.secrets import forget_secrets
from scisync.lock.io import read_lock
from scisync.sandbox import SandboxServer

from .test_import import MANIFEST, RAW, _create

REPO = Path(__file__).parents[2]
KEY = "run-7"


@dataclass(frozen=True)
class Case:
    signals: str
    at: str
    exit_code: int
    message: str
    patched: bool  # the marker PATCH went through before the stop


CASES = {
    "SIGINT before the marker": Case(
        "SIGINT", f"drafted:dataset.{KEY}", 130, "interrupted by SIGINT", False
    ),
    "SIGTERM before the marker": Case(
        "SIGTERM", f"drafted:dataset.{KEY}", 143, "interrupted by SIGTERM", False
    ),
    "SIGINT with the marker PATCH in flight": Case(
        "SIGINT", f"before-set-marker:dataset.{KEY}", 130, "interrupted by SIGINT", True
    ),
    "SIGINT after the marker": Case(
        "SIGINT", f"after-set-marker:dataset.{KEY}", 130, "interrupted by SIGINT", True
    ),
    "SIGTERM after the marker": Case(
        "SIGTERM", f"after-set-marker:dataset.{KEY}", 143, "interrupted by SIGTERM", True
    ),
    "second SIGINT exits at once": Case(
        "SIGINT+SIGINT", f"after-set-marker:dataset.{KEY}", 130, "Interrupted again", True
    ),
}


@pytest.fixture
def project(tmp_path: Path, scicat_sandbox: SandboxServer) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "scisync.yaml").write_text(
        MANIFEST.format(url=scicat_sandbox.url, store=tmp_path / "store")
    )
    yield root
    forget_secrets()


def _import(root: Path, token: str, pid: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SCICAT_", "SCISYNC_TEST_"))},
        "SCICAT_TOKEN": token,
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "scisync", "-C", str(root), "import", pid, "--key", KEY, "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _marker(sandbox: SandboxServer, token: str, pid: str) -> object:
    answer = requests.get(
        f"{sandbox.root_url}/v4/datasets/{requests.utils.quote(pid, safe='')}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["scientificMetadata"].get("scisync_marker")


def _patches(sandbox: SandboxServer) -> int:
    return sum(n for route, n in sandbox.stats().items() if route.startswith("PATCH"))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_interrupted_import_stops_cleanly_and_resumes(
    project: Path, scicat_sandbox: SandboxServer, case: Case
) -> None:
    token = scicat_sandbox.login("ingestor")
    pid = _create(scicat_sandbox, token, RAW)
    manifest_before = (project / "scisync.yaml").read_text()
    scicat_sandbox.reset_stats()

    stopped = _import(project, token, pid, SCISYNC_TEST_SIGNAL_AT=f"{case.signals}@{case.at}")

    assert stopped.returncode == case.exit_code, stopped.stderr
    assert case.message in stopped.stderr
    assert "internal error" not in stopped.stderr and "Traceback" not in stopped.stderr
    if case.signals.count("+") == 0:
        assert "run the same command again" in stopped.stderr
    assert _patches(scicat_sandbox) == (1 if case.patched else 0)
    assert _marker(scicat_sandbox, token, pid) == ("adopt-test/run-7" if case.patched else None)
    # Nothing half-written: the manifest entry and the lockfile come only with a finished
    # import; the journal holds exactly the marker step when (and only when) it ran.
    assert (project / "scisync.yaml").read_text() == manifest_before
    stopped_lock = read_lock(project / "scisync.lock")  # an interrupted apply writes what
    assert stopped_lock is None or KEY not in stopped_lock.datasets  # completed: not this
    journal = project / ".scisync" / "journal.jsonl"
    steps = (
        [(e["phase"], e["step"]) for e in map(json.loads, journal.read_text().splitlines())]
        if journal.exists()
        else []
    )
    assert steps == ([("intent", "set-marker"), ("done", "set-marker")] if case.patched else [])

    scicat_sandbox.reset_stats()
    resumed = _import(project, token, pid)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["adopted"] is True and report["marker_set"] is (not case.patched)
    assert _patches(scicat_sandbox) == (0 if case.patched else 1)  # never a second PATCH
    lock = read_lock(project / "scisync.lock")
    assert lock is not None and lock.datasets[KEY].pid == pid
    assert not journal.exists()
    assert (project / "scisync.yaml").read_text().count(f"key: {KEY}") == 1
