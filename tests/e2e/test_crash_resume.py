"""SIGKILL at every kill point of a multi-dataset apply, then resume: the catalogue and
the lockfile converge to what an uninterrupted run produces, with nothing duplicated."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from scisync.sandbox import SandboxServer
from scisync.sandbox.settings import FaultInjection, SandboxSettings
from tests.cli_process import run_scisync

from .workspace import catalogue_snapshot, normalised_lock, write_manifest

REPO = Path(__file__).parents[2]


def _apply(root: Path, token: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_scisync(root, token, "apply", "--auto-approve", **env)


def _plan_is_clean(root: Path, token: str) -> bool:
    environment = {**os.environ, "SCICAT_TOKEN": token, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "scisync", "-C", str(root), "plan", "--detailed-exitcode"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode == 0


def store_of(root: Path) -> Path:
    """The storage folder beside a project (snapshots neutralise the project path in it)."""
    return root.with_name(root.name + "-store")


def _leftovers(store: Path) -> list[str]:
    return sorted(str(p) for p in store.rglob("*") if "scisync-tmp" in p.name)


@pytest.fixture
def reference(
    tmp_path: Path, storage_for: Callable[[Path], str]
) -> tuple[dict[str, object], str, list[str]]:
    """An uninterrupted run: its catalogue, lockfile and the list of its kill points."""
    root = tmp_path / "reference"
    root.mkdir()
    log = tmp_path / "checkpoints.log"
    with SandboxServer(tmp_path / "reference-scicat").start() as sandbox:
        write_manifest(root, sandbox.url, storage_for(store_of(root)))
        token = sandbox.login("ingestor")
        result = _apply(root, token, SCISYNC_TEST_CHECKPOINT_LOG=str(log))
        assert result.returncode == 0, result.stderr
        checkpoints = log.read_text().splitlines()
        return (
            catalogue_snapshot(sandbox, token, root),
            normalised_lock(root / "scisync.lock", sandbox, token),
            checkpoints,
        )


def test_sigkill_at_every_kill_point_then_resume_converges(
    tmp_path: Path,
    reference: tuple[dict[str, object], str, list[str]],
    storage_for: Callable[[Path], str],
) -> None:
    expected_catalogue, expected_lock, checkpoints = reference
    assert len(checkpoints) >= 20, checkpoints  # a multi-dataset apply has many steps
    failures: list[str] = []
    for number in range(1, len(checkpoints) + 1):
        root = tmp_path / f"run-{number}"
        root.mkdir()
        where = f"kill point {number} ({checkpoints[number - 1]})"
        store = store_of(root)
        with SandboxServer(tmp_path / f"scicat-{number}").start() as sandbox:
            write_manifest(root, sandbox.url, storage_for(store))
            token = sandbox.login("ingestor")
            killed = _apply(root, token, SCISYNC_TEST_KILL_AT=str(number))
            if killed.returncode != -9:
                failures.append(f"{where}: not reached ({killed.returncode}): {killed.stderr}")
                continue
            resumed = _apply(root, token)
            if resumed.returncode != 0:
                failures.append(f"{where}: resume failed: {resumed.stderr[-500:]}")
                continue
            if catalogue_snapshot(sandbox, token, root) != expected_catalogue:
                failures.append(f"{where}: the catalogue differs from an uninterrupted run")
            if normalised_lock(root / "scisync.lock", sandbox, token) != expected_lock:
                failures.append(f"{where}: scisync.lock differs from an uninterrupted run")
            if _leftovers(store):
                failures.append(f"{where}: temporary files left: {_leftovers(store)}")
            if not _plan_is_clean(root, token):
                failures.append(f"{where}: a plan after the resume still has changes")
    assert failures == [], "\n".join(failures)


def test_flaky_server_with_dropped_connections_converges(
    tmp_path: Path,
    reference: tuple[dict[str, object], str, list[str]],
    storage_for: Callable[[Path], str],
) -> None:
    expected_catalogue, expected_lock, _ = reference
    root = tmp_path / "flaky"
    root.mkdir()
    faults = FaultInjection(rate=0.2, seed=7)
    with SandboxServer(
        tmp_path / "flaky-scicat", settings=SandboxSettings(faults=faults)
    ).start() as sandbox:
        write_manifest(root, sandbox.url, storage_for(store_of(root)))
        token = sandbox.login("ingestor")
        attempts = []
        for _ in range(15):
            result = _apply(root, token)
            attempts.append(result.returncode)
            if result.returncode == 0:
                break
        assert attempts[-1] == 0, f"no attempt succeeded: {attempts}"
        faulted = sum(n for name, n in sandbox.stats().items() if name.startswith("fault "))
        assert faulted > 0, sandbox.stats()  # the faults really happened
    with SandboxServer(tmp_path / "flaky-scicat").start() as calm:
        assert catalogue_snapshot(calm, token, root) == expected_catalogue
        assert normalised_lock(root / "scisync.lock", calm, token) == expected_lock
