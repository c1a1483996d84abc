"""``hardlink: true``: a link moves the local file's ctime, and the hash cache follows it, so
the plan after an apply reads no file again; a file edited afterwards is still read."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from scisync.errors import ExitCode
from scisync.sandbox import SandboxServer
from scisync.storage.local import LocalStorage

from .workspace import Workspace, local_workspace


@pytest.fixture
def linked_workspace(tmp_path: Path, scicat_sandbox: SandboxServer) -> Workspace:
    return local_workspace(tmp_path, scicat_sandbox, "    hardlink: true\n")


@pytest.mark.usefixtures("margin_elapsed")  # files hashed right after being written
def test_the_plan_after_a_hardlinked_apply_reads_no_file(
    linked_workspace: Workspace, files_read: list[int]
) -> None:
    ws = linked_workspace
    assert ws.run("apply", "--auto-approve").exit_code == ExitCode.OK
    frame = ws.root / "runs" / "run-1" / "frame-1.dat"
    assert os.stat(frame).st_nlink == 2  # really linked into the store
    assert sum(files_read) > 0  # the first plan read them
    files_read.clear()
    assert ws.run("plan", "--detailed-exitcode").exit_code == ExitCode.OK
    assert sum(files_read) == 0

    # An edit that keeps size and mtime moves the ctime again: that file is read.
    st = frame.stat()
    frame.write_bytes(frame.read_bytes().replace(b"run 1", b"RUN 1"))
    os.utime(frame, ns=(st.st_atime_ns, st.st_mtime_ns))
    result = ws.run("plan", "--detailed-exitcode")
    assert sum(files_read) == 1
    assert result.exit_code != ExitCode.OK  # the edit shows (refused or planned)


def test_a_file_edited_after_planning_is_never_linked_as_the_planned_content(
    linked_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply plans, then uploads: a file edited in between (same size: a detector still
    writing) must not be linked into the store under the digest the plan hashed.  Copies
    verify the bytes they copy; a link copies nothing, so the link is made only when the
    file's stamp still shows the hashed content, and copied (verified) otherwise."""
    ws = linked_workspace
    frame = ws.root / "runs" / "run-1" / "frame-1.dat"
    original_upload = LocalStorage.upload

    def edit_then_upload(self: LocalStorage, *args: Any, **kwargs: Any) -> None:
        frame.write_bytes(frame.read_bytes().replace(b"run 1", b"RUN 1"))  # same size
        original_upload(self, *args, **kwargs)

    monkeypatch.setattr(LocalStorage, "upload", edit_then_upload)
    result = ws.run("apply", "--auto-approve")
    assert result.exit_code == ExitCode.ERROR
    assert "changed since" in result.output
    assert os.stat(frame).st_nlink == 1  # not linked
    stored = [p for p in (ws.root.parent / "store").rglob("*") if p.is_file()]
    assert not [p for p in stored if b"RUN 1" in p.read_bytes()]  # nothing stored edited


def test_files_hashed_within_the_margin_are_read_before_they_are_linked(
    linked_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the real clock: the apply's plan hashes files written moments before, so its
    cache entries are racy (scisync._util.racy) and vouch for no link: each file is read
    and checked by the storage before it is linked."""
    from scisync.storage import local

    verified: list[str] = []
    original = local._verify_unchanged

    def probe(job: Any, before: os.stat_result) -> None:
        verified.append(os.path.realpath(job.local))
        original(job, before)

    monkeypatch.setattr(local, "_verify_unchanged", probe)
    assert linked_workspace.run("apply", "--auto-approve").exit_code == ExitCode.OK
    frames = {os.path.realpath(p) for p in (linked_workspace.root / "runs").rglob("*.dat")}
    assert frames and frames <= set(verified)
    frame = linked_workspace.root / "runs" / "run-1" / "frame-1.dat"
    assert os.stat(frame).st_nlink == 2  # linked all the same, once read
