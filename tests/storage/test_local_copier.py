"""LocalStorage's second process for small-file batches (scisync/storage/_copier.py).

The child runs the storage's own per-file code, so every outcome must be the one the
same batch gets in-process; these tests run both and compare, then check what only the
child can get wrong: it is really another process, it stops on cancel, it does not
outlive its parent, and a child that dies is reported and replaced.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scisync._util.hashing import hash_file
from scisync.apply.cancel import Cancellation
from scisync.errors import StorageError
from scisync.storage import _copier
from scisync.storage.base import RemotePath, UploadJob
from scisync.storage.local import OFFLOAD_FROM, LocalStorage
from scisync.storage.roots import Roots

FILES = OFFLOAD_FROM + 6  # enough to be sent to the child


def _jobs(tmp_path: Path, count: int = FILES) -> list[UploadJob]:
    source = tmp_path / "src"
    source.mkdir(parents=True, exist_ok=True)
    jobs = []
    for index in range(count):
        local = source / f"f{index:04d}.dat"
        local.write_bytes(f"file {index}\n".encode())
        target = tmp_path / "server" / "ds" / local.name
        jobs.append(
            UploadJob(
                local,
                RemotePath(target.as_posix()),
                local.stat().st_size,
                hash_file(local, ["blake3"])["blake3"],
            )
        )
    return jobs


def _nothing(tmp_path: Path, jobs: list[UploadJob]) -> None:
    pass


def _differing_target(tmp_path: Path, jobs: list[UploadJob]) -> None:
    target = Path(str(jobs[3].remote))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"someone else's\n")


def _identical_target(tmp_path: Path, jobs: list[UploadJob]) -> None:
    target = Path(str(jobs[5].remote))
    target.parent.mkdir(parents=True)
    target.write_bytes(jobs[5].local.read_bytes())


def _edited_since_hashed(tmp_path: Path, jobs: list[UploadJob]) -> None:
    jobs[7].local.write_bytes(jobs[7].local.read_bytes().upper())  # same size


def _source_gone(tmp_path: Path, jobs: list[UploadJob]) -> None:
    jobs[9].local.unlink()


def _folder_in_the_way(tmp_path: Path, jobs: list[UploadJob]) -> None:
    Path(str(jobs[11].remote)).mkdir(parents=True)


CASES: dict[str, Callable[[Path, list[UploadJob]], None]] = {
    "all new": _nothing,
    "a differing file in the way": _differing_target,
    "an identical file in the way": _identical_target,
    "a local file edited since hashed": _edited_since_hashed,
    "a local file gone": _source_gone,
    "a folder in the way": _folder_in_the_way,
}


Outcome = tuple[list[tuple[str, str | None]], dict[str, bytes], list[int]]


def _outcome(tmp_path: Path, case: str, offload: bool, roots: bool) -> Outcome:
    """(problems, the store's files by name, the jobs reported done) of one upload."""
    jobs = _jobs(tmp_path)
    CASES[case](tmp_path, jobs)
    allowed = Roots(writable=(RemotePath((tmp_path / "elsewhere").as_posix()),)) if roots else None
    storage = LocalStorage(offload=offload, roots=allowed)
    done: list[int] = []
    problems: list[tuple[str, str | None]] = []
    try:
        storage.upload(jobs, done=done.append)
    except StorageError as error:
        problems = sorted((p.what, p.where) for p in error.problems)
    finally:
        storage.close()
    folder = tmp_path / "server" / "ds"
    stored = (
        {p.name: (p.read_bytes() if p.is_file() else b"<folder>") for p in folder.iterdir()}
        if folder.exists()
        else {}
    )
    return problems, stored, sorted(done)


@pytest.mark.parametrize("roots", [False, True], ids=["no roots", "outside the roots"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_child_gives_every_outcome_the_in_process_copy_gives(
    tmp_path: Path, case: str, roots: bool
) -> None:
    here = _outcome(tmp_path / "here", case, offload=False, roots=roots)
    there = _outcome(tmp_path / "there", case, offload=True, roots=roots)

    def relative(outcome: Outcome, base: Path) -> Outcome:
        problems, stored, done = outcome
        plain = str(base)
        shown = [
            (what.replace(plain, ""), (where or "").replace(plain, "")) for what, where in problems
        ]
        return shown, stored, done

    assert relative(there, tmp_path / "there") == relative(here, tmp_path / "here")
    problems, stored, done = there
    if case in ("all new", "an identical file in the way") and not roots:
        assert problems == [] and len(stored) == FILES and len(done) == FILES
    else:
        assert problems  # every other case refuses something
    assert not [name for name in stored if "scisync-tmp" in name]


def test_the_copy_runs_in_another_process_which_close_stops(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path)
    storage = LocalStorage()
    storage.upload(jobs)
    copier = storage._copier
    assert copier is not None and copier._child is not None
    child = copier._child
    assert child.pid != os.getpid() and child.poll() is None
    storage.upload(_jobs(tmp_path / "again"))  # the same child serves the next batch
    assert copier._child is child
    storage.close()
    assert child.poll() is not None


def test_small_batches_and_hard_links_stay_in_process(tmp_path: Path) -> None:
    few = LocalStorage()
    few.upload(_jobs(tmp_path / "few", OFFLOAD_FROM - 1))
    assert few._copier is not None and few._copier._child is None
    assert LocalStorage(hardlink=True)._copier is None


def test_a_cancel_between_chunks_stops_the_child_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_copier, "CHUNK", 20)
    jobs = _jobs(tmp_path)
    cancel = Cancellation()
    done: list[int] = []

    def finished(index: int) -> None:
        done.append(index)
        cancel.cancel()

    storage = LocalStorage()
    with pytest.raises(StorageError, match="transfer cancelled"):
        storage.upload(jobs, done=finished, cancel=cancel)
    storage.close()
    placed = sorted(p.name for p in (tmp_path / "server" / "ds").iterdir())
    assert len(done) == 20 and len(placed) == 20  # the first chunk, then nothing
    assert not [name for name in placed if "scisync-tmp" in name]


def test_a_cancel_set_before_starts_nothing(tmp_path: Path) -> None:
    cancel = Cancellation()
    cancel.cancel()
    storage = LocalStorage()
    with pytest.raises(StorageError, match="transfer cancelled"):
        storage.upload(_jobs(tmp_path), cancel=cancel)
    storage.close()
    folder = tmp_path / "server" / "ds"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_child_that_dies_is_reported_and_the_next_upload_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_copier, "CHUNK", 20)
    jobs = _jobs(tmp_path)
    storage = LocalStorage()
    assert storage._copier is not None
    copier = storage._copier

    def kill_the_child(index: int) -> None:
        child = copier._child
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()

    with pytest.raises(StorageError, match="stopped unexpectedly") as raised:
        storage.upload(jobs, done=kill_the_child)
    hint = raised.value.problems[0].hint or ""
    assert "run apply again" in hint
    storage.upload(jobs)  # the hint, followed: a new child; the marks are re-checked
    storage.close()
    folder = tmp_path / "server" / "ds"
    assert sorted(p.name for p in folder.iterdir()) == sorted(j.local.name for j in jobs)
    for job in jobs:
        assert Path(str(job.remote)).read_bytes() == job.local.read_bytes()


_KILLED_PARENT = """
import sys, threading, time
from pathlib import Path
from blake3 import blake3
from scisync.storage.base import RemotePath, UploadJob
from scisync.storage.local import LocalStorage
work = Path({work!r})
(work / "src").mkdir()
jobs = []
for index in range(10_000):
    local = work / "src" / f"f{{index:05d}}.dat"
    data = f"file {{index}}\\n".encode()
    local.write_bytes(data)
    remote = RemotePath((work / "server" / local.name).as_posix())
    jobs.append(UploadJob(local, remote, len(data), blake3(data).hexdigest()))
storage = LocalStorage()
threading.Thread(target=storage.upload, args=(jobs,), daemon=True).start()
while storage._copier._child is None:
    time.sleep(0.001)
print(storage._copier._child.pid, flush=True)
time.sleep(60)  # the test kills this process while its child copies
"""


def test_the_child_does_not_outlive_a_killed_parent(tmp_path: Path) -> None:
    """Killed in the middle of a 10,000-file batch, the parent leaves no copying child."""
    script = _KILLED_PARENT.format(work=str(tmp_path))
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            child_pid = int(parent.stdout.readline())
            server = tmp_path / "server"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (server.exists() and any(server.iterdir())):
                time.sleep(0.01)  # until the child is copying: into the batch
            parent.send_signal(signal.SIGKILL)
            parent.wait(timeout=10)
            deadline = time.monotonic() + 20
            while _running(child_pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _running(child_pid)
            assert any(server.iterdir())  # it had started when its parent was killed
        finally:
            parent.kill()


def _running(pid: int) -> bool:
    """True while *pid* runs (a zombie waiting for init to reap it has stopped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_the_child_imports_nothing_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project folder may hold files named like modules; the child must not import them."""
    project = tmp_path / "project"
    project.mkdir()
    for module in ("json", "select", "socket"):
        (project / f"{module}.py").write_text("raise SystemExit('imported from the project')\n")
    monkeypatch.chdir(project)
    storage = LocalStorage()
    storage.upload(_jobs(tmp_path / "work"))
    storage.close()
    assert len(list((tmp_path / "work" / "server" / "ds").iterdir())) == FILES


def test_the_child_gets_no_secret_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It copies files: a token or password in scisync's environment is not its business."""
    monkeypatch.setenv("SCICAT_TOKEN", "token-that-must-stay-home")
    monkeypatch.setenv("SCISYNC_SFTP_PASSWORD", "password-that-must-stay-home")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    storage = LocalStorage()
    storage.upload(_jobs(tmp_path))
    assert storage._copier is not None and storage._copier._child is not None
    environ = Path(f"/proc/{storage._copier._child.pid}/environ").read_bytes().split(b"\0")
    storage.close()
    assert not [entry for entry in environ if b"must-stay-home" in entry]
    assert b"LC_ALL=C.UTF-8" in environ  # what decides how file names are encoded is kept


@pytest.mark.parametrize(
    "command",
    [
        ("/nonexistent/python",),  # no process can be started
        (sys.executable, "-c", "import sys; sys.exit(3)"),  # it starts, and cannot run
    ],
    ids=["not started", "dies at once"],
)
def test_where_no_child_can_run_the_copy_stays_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    monkeypatch.setattr(_copier, "_CHILD_COMMAND", command)
    storage = LocalStorage()
    for batch in ("first", "second"):
        jobs = _jobs(tmp_path / batch)
        storage.upload(jobs)
        for job in jobs:
            assert Path(str(job.remote)).read_bytes() == job.local.read_bytes()
    assert storage._copier is not None and storage._copier._child is None
    storage.close()


def test_a_bug_in_the_child_is_raised_as_one_not_as_a_dead_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception the copy code does not expect (a bug, injected here in the child)
    reaches the caller as that bug, an internal error, not as "stopped unexpectedly"."""
    injected = (
        "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
        "from scisync.storage import local; "
        "local.LocalStorage._upload_one = lambda *a: 1 / 0; "
        "from scisync.storage._copier_child import main; sys.exit(main(sys.argv[1:]))"
    )
    monkeypatch.setattr(_copier, "_CHILD_COMMAND", (sys.executable, "-P", "-c", injected))
    storage = LocalStorage()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        storage.upload(_jobs(tmp_path))
    storage.close()
