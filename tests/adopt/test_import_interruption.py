"""`scisync import` stopped by a real SIGINT or SIGTERM, as apply and pull are.

Each case runs the real CLI in a subprocess that sends itself the signal at a named point
of the import's marker step (``SCISYNC_TEST_SIGNAL_AT``), then checks the exit code, the
message, what SciCat, the manifest, the journal and the lockfile hold, and that running the
same command again finishes the import with no second PATCH.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from scisync.lock.io import read_lock
from scisync.sandbox import SandboxServer

from .import_project import KEY, RAW, create_dataset, dataset_document, import_in_subprocess


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


def _marker(sandbox: SandboxServer, token: str, pid: str) -> object:
    return dataset_document(sandbox, token, pid)["scientificMetadata"].get("scisync_marker")


def _patches(sandbox: SandboxServer) -> int:
    return sum(n for route, n in sandbox.stats().items() if route.startswith("PATCH"))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_interrupted_import_stops_cleanly_and_resumes(
    project: Path, scicat_sandbox: SandboxServer, case: Case
) -> None:
    token = scicat_sandbox.login("ingestor")
    pid = create_dataset(scicat_sandbox, token, RAW)
    manifest_before = (project / "scisync.yaml").read_text()
    scicat_sandbox.reset_stats()

    stopped = import_in_subprocess(
        project, token, pid, SCISYNC_TEST_SIGNAL_AT=f"{case.signals}@{case.at}"
    )

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
    resumed = import_in_subprocess(project, token, pid)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["adopted"] is True and report["marker_set"] is (not case.patched)
    assert _patches(scicat_sandbox) == (0 if case.patched else 1)  # never a second PATCH
    lock = read_lock(project / "scisync.lock")
    assert lock is not None and lock.datasets[KEY].pid == pid
    assert not journal.exists()
    assert (project / "scisync.yaml").read_text().count(f"key: {KEY}") == 1
