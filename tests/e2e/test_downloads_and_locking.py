"""Downloads, locked pulls in a second folder, and two applies at once."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from scisync._util import hashing, racy
from scisync._util.hashing import hash_file
from scisync.errors import ExitCode

from .workspace import Workspace

REPO = Path(__file__).parents[2]


def _collaborator(root: Path, url: str, storage: str, pid: str) -> None:
    """A manifest that only downloads: what a collaborator clones."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "scisync.yaml").write_text(
        textwrap.dedent(
            f"""\
            version: 1
            project: collab
            scicat:
              url: {url}
            {{storage}}
            downloads:
              - key: frames
                dataset: {{pid: "{pid}"}}
                target: data/frames
                include: ["*.dat"]
              - key: first-frame
                dataset: {{pid: "{pid}"}}
                target: data/first
                files: [frame-1.dat]
            """
        ).replace("{storage}\n", storage)
    )


def _raw1_pid(workspace: Workspace) -> str:
    lock = json.loads(workspace.lock.read_text())
    return str(lock["datasets"]["raw-1"]["pid"])


def test_pull_then_locked_pull_elsewhere_reproduces_the_same_bytes(
    workspace: Workspace, tmp_path: Path
) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    pid = _raw1_pid(workspace)
    first = tmp_path / "collaborator-1"
    _collaborator(first, workspace.sandbox.url, workspace.storage, pid)
    pulled = _run(workspace, first, "pull")
    assert pulled.exit_code == 0, pulled.output
    frames = sorted(p.name for p in (first / "data" / "frames").iterdir())
    assert frames == ["frame-1.dat", "frame-2.dat", "frame-3.dat"]
    assert sorted(p.name for p in (first / "data" / "first").iterdir()) == ["frame-1.dat"]
    original = (workspace.root / "runs" / "run-1" / "frame-2.dat").read_bytes()
    assert (first / "data" / "frames" / "frame-2.dat").read_bytes() == original
    lock = (first / "scisync.lock").read_text()
    assert '"pid": "' + pid in lock and "blake3" in lock

    again = _run(workspace, first, "pull")
    assert again.exit_code == 0 and "No changes" in again.output  # nothing fetched twice

    second = tmp_path / "collaborator-2"
    _collaborator(second, workspace.sandbox.url, workspace.storage, pid)
    (second / "scisync.lock").write_text(lock)
    locked = _run(workspace, second, "pull", "--locked")
    assert locked.exit_code == 0, locked.output
    for name in frames:
        assert (second / "data/frames" / name).read_bytes() == (
            first / "data/frames" / name
        ).read_bytes()
    assert (second / "scisync.lock").read_text() == lock


def test_locked_pull_fails_with_a_diff_when_the_catalogue_moved_on(
    workspace: Workspace, tmp_path: Path
) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    pid = _raw1_pid(workspace)
    first = tmp_path / "collaborator"
    _collaborator(first, workspace.sandbox.url, workspace.storage, pid)
    assert _run(workspace, first, "pull").exit_code == 0
    # Someone changes a file's entry behind our back.  (Listing it in a second block
    # instead would make the record malformed: a path listed twice is refused.)
    headers = {"Authorization": f"Bearer {workspace.token}"}
    root = workspace.sandbox.root_url
    found = requests.get(
        f"{root}/v4/datasets/{quote(pid, safe='')}?include=origdatablocks",
        headers=headers,
        timeout=10,
    )
    block = next(
        b
        for b in found.json()["origdatablocks"]
        if any(f["path"] == "frame-1.dat" for f in b["dataFileList"])
    )
    files = [{**f, "size": 999} if f["path"] == "frame-1.dat" else f for f in block["dataFileList"]]
    answer = requests.patch(
        f"{root}/v3/origdatablocks/{block['_id']}",
        json={"dataFileList": files},
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    refused = _run(workspace, first, "pull", "--locked")
    assert refused.exit_code == ExitCode.ERROR
    assert "no longer matches scisync.lock" in refused.output
    assert "frame-1.dat" in refused.output


def test_second_apply_waits_for_the_lock_or_fails_naming_the_holder(workspace: Workspace) -> None:
    from scisync.lock.filelock import ApplyLock

    state = workspace.root / ".scisync"
    state.mkdir(exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\n"
            "from scisync.lock.filelock import ApplyLock\n"
            "with ApplyLock(Path(sys.argv[1]), timeout=5, command='scisync apply (other)'):\n"
            "    print('held', flush=True); time.sleep(30)\n",
            str(state / "apply.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = workspace.run("apply", "--auto-approve", "--lock-timeout", "0.5")
        assert refused.exit_code == ExitCode.ERROR
        assert str(holder.pid) in refused.output  # names the holder
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    with ApplyLock(state / "apply.lock", timeout=1):
        pass  # released again


def _run(workspace: Workspace, root: Path, *args: str):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from scisync.cli import main

    return CliRunner().invoke(
        main,
        ["-C", str(root), *args],
        env={"SCICAT_TOKEN": workspace.token, "NO_COLOR": "1"},
        catch_exceptions=False,
    )


def test_download_of_a_dataset_created_in_the_same_apply(workspace: Workspace) -> None:
    text = workspace.manifest.read_text()
    workspace.manifest.write_text(
        text + "downloads:\n  - key: fresh\n    dataset: raw-2\n    target: fetched\n"
    )
    planned = workspace.run("plan")
    assert planned.exit_code == 0, planned.output
    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    fetched = sorted(p.name for p in (workspace.root / "fetched").iterdir())
    assert fetched == ["frame-1.dat", "frame-2.dat", "frame-3.dat"]
    lock = json.loads(workspace.lock.read_text())
    assert lock["downloads"]["fresh"]["pid"] == lock["datasets"]["raw-2"]["pid"]
    assert workspace.run("plan", "--detailed-exitcode").exit_code == ExitCode.OK


def test_a_locally_modified_download_is_a_conflict_not_a_download(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Plan and apply agree: a file that differs locally is a conflict in the plan (exit 1,
    nothing written), and following its fix (move the file away) downloads it."""
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    pid = _raw1_pid(workspace)
    first = tmp_path / "collaborator"
    _collaborator(first, workspace.sandbox.url, workspace.storage, pid)
    assert _run(workspace, first, "pull").exit_code == 0
    edited = first / "data" / "frames" / "frame-2.dat"
    edited.write_bytes(b"edited by hand")
    planned = _run(workspace, first, "plan")
    assert planned.exit_code == ExitCode.ERROR
    assert "✗ conflict (local-modified)" in planned.output
    assert "frame-2.dat differs from the catalogue's file" in planned.output
    assert "+ frame-2.dat" not in planned.output  # never promised as a download
    refused = _run(workspace, first, "pull")
    assert refused.exit_code == ExitCode.ERROR and "conflict" in refused.output
    assert edited.read_bytes() == b"edited by hand"
    edited.rename(first / "frame-2.dat.mine")  # the fix: move the local file away
    pulled = _run(workspace, first, "pull")
    assert pulled.exit_code == 0, pulled.output
    original = (workspace.root / "runs" / "run-1" / "frame-2.dat").read_bytes()
    assert edited.read_bytes() == original


def test_a_local_pull_hashes_nothing_it_copied_and_the_next_pull_reads_it_once(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    root = tmp_path / "collaborator"
    _collaborator(root, workspace.sandbox.url, workspace.storage, _raw1_pid(workspace))
    hashed: list[str] = []
    real = hashing.hash_files

    def counting(paths, *args, **kwargs):  # type: ignore[no-untyped-def]
        paths = list(paths)
        hashed.extend(str(p) for p in paths)
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(hashing, "hash_files", counting)
    pulled = _run(workspace, root, "pull")
    assert pulled.exit_code == 0, pulled.output
    downloaded = sorted(str(p) for p in (root / "data").rglob("*.dat"))
    assert len(downloaded) == 4
    local = "local:" in workspace.storage
    # Local storage hands back the digests it computed while copying; another storage's
    # downloads are hashed after they land.
    assert sorted(set(hashed) & set(downloaded)) == ([] if local else downloaded)
    with contextlib.closing(sqlite3.connect(root / ".scisync" / "hashcache.sqlite")) as db:
        query = "SELECT path, size, mtime_ns, ctime_ns, inode, blake3 FROM files"
        cache = {row[0]: row[1:] for row in db.execute(query)}
    pinned = json.loads((root / "scisync.lock").read_text())["downloads"]
    for path in downloaded:
        st = os.stat(path)
        size, mtime_ns, ctime_ns, inode, blake3 = cache[path]
        assert (size, mtime_ns, ctime_ns, inode) == (
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            st.st_ino,
        )
        assert blake3 == hash_file(Path(path), ["blake3"])["blake3"]
        assert blake3 in json.dumps(pinned)
    # Those entries were recorded right after their files were written: racy
    # (scisync._util.racy), so the next pull reads each file once more, and the entries
    # it records, a margin after the files were written, hold for the pull after it.
    newest = max(racy.newest_change_ns(os.stat(path)) for path in downloaded)
    time.sleep(max(0.0, (newest + racy.RACY_MARGIN_NS - time.time_ns()) / 1e9) + 0.05)
    hashed.clear()
    again = _run(workspace, root, "pull")
    assert again.exit_code == 0 and "No changes" in again.output
    assert sorted(set(hashed) & set(downloaded)) == downloaded
    hashed.clear()
    third = _run(workspace, root, "pull")
    assert third.exit_code == 0 and "No changes" in third.output
    assert not set(hashed) & set(downloaded)
