"""A dataset of many small files is copied by the storage's second process
(scisync/storage/_copier.py).  Killed after that process placed the files but before their
batch was flushed, an apply leaves each file marked unconfirmed; the next apply re-checks
the marked files, completes, and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from scisync.sandbox import SandboxServer
from scisync.storage.local import OFFLOAD_FROM
from tests.cli_process import run_scisync

from .workspace import storage_yaml, write_manifest

FRAMES = OFFLOAD_FROM + 86


def test_sigkill_while_the_second_process_copies_then_resume(
    tmp_path: Path, scicat_sandbox: SandboxServer
) -> None:
    root, store = tmp_path / "project", tmp_path / "store"
    root.mkdir()
    write_manifest(root, scicat_sandbox.url, storage_yaml("local", store), datasets=1)
    frames = root / "runs" / "run-1"
    for number in range(FRAMES):
        (frames / f"extra-{number:03d}.dat").write_text(f"extra frame {number}\n")
    token = scicat_sandbox.login("ingestor")

    # Killed at the first file reported done: the whole batch is placed, none flushed.
    killed = run_scisync(
        root, token, "apply", "--auto-approve", SCISYNC_TEST_SIGNAL_IN_TRANSFER="SIGKILL"
    )
    assert killed.returncode == -9, killed.stderr
    marks = [p for p in store.rglob("*") if "scisync-tmp" in p.name]
    assert len(marks) > OFFLOAD_FROM  # the child's batch, every file still marked
    assert all(mark.stat().st_nlink == 2 for mark in marks)  # each a second link: unconfirmed

    resumed = run_scisync(root, token, "apply", "--auto-approve")
    assert resumed.returncode == 0, resumed.stderr
    assert not [p for p in store.rglob("*") if "scisync-tmp" in p.name]
    stored = {p.name: p.read_bytes() for p in store.rglob("*.dat")}
    local = {p.name: p.read_bytes() for p in frames.glob("*.dat")}
    assert stored == local and len(local) == FRAMES + 3
    planned = run_scisync(root, token, "plan", "--detailed-exitcode")
    assert planned.returncode == 0, planned.stdout + planned.stderr
