"""Local stamps walked half in a forked child (StampWalk): always the stamps the walk on
the calling thread gives, whatever happens to the child."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from scisync import api
from scisync.desired import stamps
from scisync.manifest.model import DatasetSpec

MANIFEST = """\
version: 1
project: stamps
scicat:
  url: http://127.0.0.1:9/api/v3
storage:
  local:
    root: ./store
datasets:
  - for_each: "{{ glob('data/*') }}"
    key: "ds-{{ each | basename }}"
    type: raw
    dataset_name: "Dataset {{ each | basename }}"
    owner: Test
    owner_group: ingestor
    contact_email: test@example.org
    principal_investigator: Test
    creation_location: Loopback
    creation_time: 2026-01-01T00:00:00Z
    files:
      - base: "{{ each }}"
        include: ["*"]
"""


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[DatasetSpec]:
    for number in range(7):
        folder = tmp_path / "data" / f"{number:02d}"
        folder.mkdir(parents=True)
        for index in range(3):
            (folder / f"f{index}.dat").write_text(f"{number}/{index}\n")
    (tmp_path / "scisync.yaml").write_text(MANIFEST)
    monkeypatch.setattr(stamps, "FORK_MIN_DATASETS", 2)
    monkeypatch.setattr(stamps, "_cores", lambda: 2)
    found = list(api.load_project([tmp_path / "scisync.yaml"]).manifest.datasets)
    for name in os.listdir(tmp_path / "data" / "06"):
        os.unlink(tmp_path / "data" / "06" / name)
    os.rmdir(tmp_path / "data" / "06")  # its base is gone: no stamp (None)
    return found


def _seen(found: dict[str, stamps.LocalStamp | None]) -> dict[str, object]:
    """What two walks of the same files agree on: the digest and the latest change (each
    walk has its own start time)."""
    return {k: None if v is None else (v.digest, v.newest_ns) for k, v in found.items()}


def _fork_fails() -> int:
    raise OSError("no fork here")


_reap = stamps._child_result


def _answer_lost(pid: int, fd: int, deadline: float) -> None:
    _reap(pid, fd, deadline)  # the child is reaped; what it said is lost


def _answer_forged(pid: int, fd: int, deadline: float) -> dict[str, stamps.LocalStamp | None]:
    _reap(pid, fd, deadline)
    return {"ds-05": stamps.LocalStamp("forged", 0, 0)}  # and incomplete


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork as if this process ran one thread (pytest's may run others: a sandbox server
    a fixture started); the rule itself is tested on its own below."""
    monkeypatch.setattr(stamps, "_fork_is_safe", lambda: True)


@pytest.mark.parametrize(
    "threads",
    [0, 1],  # besides this one
)
def test_a_walk_forks_only_while_this_process_runs_one_thread(
    specs: list[DatasetSpec], monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    expected = stamps.local_stamps(specs)
    monkeypatch.setattr(threading, "active_count", lambda: 1 + threads)
    with stamps.StampWalk(specs) as walk:
        forked = walk._child is not None
        assert _seen(walk.result()) == _seen(expected)
    assert forked == (threads == 0)


@pytest.mark.usefixtures("forking")
@pytest.mark.parametrize(
    "failure",
    [
        None,  # the child walks two thirds
        ("os", "fork", _fork_fails),  # no child: this process walks everything
        ("stamps", "_child_result", _answer_lost),  # the child's answer is lost
        ("stamps", "_child_result", _answer_forged),  # or forged and incomplete
        ("stamps", "CHILD_GRACE", -1e9),  # no time left: the child is killed
    ],
)
def test_the_forked_walk_gives_the_stamps_of_the_serial_walk(
    specs: list[DatasetSpec], monkeypatch: pytest.MonkeyPatch, failure: tuple[str, str, object]
) -> None:
    expected = stamps.local_stamps(specs)
    assert expected["ds-06"] is None and len(set(_seen(expected).values())) == len(specs)
    if failure is not None:
        module, name, replacement = failure
        monkeypatch.setattr(os if module == "os" else stamps, name, replacement)
    with stamps.StampWalk(specs) as walk:
        assert _seen(walk.result()) == _seen(expected)


@pytest.mark.usefixtures("forking")
def test_a_walk_left_unfinished_stops_and_reaps_its_child(specs: list[DatasetSpec]) -> None:
    walk = stamps.StampWalk(specs)
    child = walk._child
    assert child is not None
    with walk:
        pass  # the plan failed before it asked for the stamps
    with pytest.raises(ChildProcessError):
        os.waitpid(child[0], os.WNOHANG)  # reaped: no zombie left
    with pytest.raises(OSError):
        os.fstat(child[1])  # the pipe is closed


@pytest.mark.usefixtures("forking")
def test_a_stuck_child_is_stopped_and_its_share_walked_here(
    specs: list[DatasetSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that never answers (say, a lock another thread held at the fork) costs a
    bounded wait, never a hung plan."""
    expected = stamps.local_stamps(specs)
    parent = os.getpid()
    walk_here = stamps.local_stamps

    def stuck_in_the_child(chosen: list[DatasetSpec]) -> dict[str, stamps.LocalStamp | None]:
        while os.getpid() != parent:
            time.sleep(1)
        return walk_here(chosen)

    monkeypatch.setattr(stamps, "local_stamps", stuck_in_the_child)
    monkeypatch.setattr(stamps, "CHILD_GRACE", 0.5)
    started = time.monotonic()
    with stamps.StampWalk(specs) as walk:
        assert _seen(walk.result()) == _seen(expected)
    assert time.monotonic() - started < 30


@pytest.mark.usefixtures("forking")
def test_a_stamp_carries_its_walk_start_and_latest_change_also_from_the_child(
    specs: list[DatasetSpec],
) -> None:
    """What the racy rule (scisync.observe.settled) reads: the clock before the walk and
    the latest mtime or ctime of everything walked, the folders included."""
    before = time.time_ns()
    with stamps.StampWalk(specs) as walk:
        assert walk._child is not None
        found = walk.result()
    after = time.time_ns()
    for spec in specs[:6]:
        stamp = found[spec.key]
        assert stamp is not None
        folder = Path(spec.files[0].base)
        entries = [folder / name for name in os.listdir(folder)]
        newest = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in entries)
        assert stamp.newest_ns == newest
        assert before <= stamp.walked_ns <= after
