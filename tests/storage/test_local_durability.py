"""Local uploads flush once per batch: what a power cut can leave, and how the next run repairs it.

A batch links its files into place unflushed, each keeping its temporary as a second hard
link until the batch's one ``syncfs`` ran.  A power cut before that can leave a placed
name with short (or zeroed) content.  The states below are made by a real upload whose
flush is skipped (the process "lost power" before it), then damaged as a power cut can.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scisync._util.hashing import hash_file
from scisync.errors import StorageError
from scisync.storage import _durable
from scisync.storage.base import RemotePath, UploadJob
from scisync.storage.local import LocalStorage


def upload_job(local: Path, remote: Path) -> UploadJob:
    return UploadJob(
        local,
        RemotePath(remote.as_posix()),
        local.stat().st_size,
        hash_file(local, ["blake3"])["blake3"],
    )


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".scisync-tmp-" in p.name)


def upload_without_flush(
    monkeypatch: pytest.MonkeyPatch, jobs: list[UploadJob], workers: int = 4
) -> None:
    """An upload that stops where a power cut would: placed, never flushed."""
    with monkeypatch.context() as patch:
        patch.setattr(_durable.PendingBatch, "flush", lambda self: None)
        LocalStorage(workers=workers).upload(jobs)


def truncate(path: Path) -> None:
    os.truncate(path, 0)


def zero(path: Path) -> None:
    path.write_bytes(b"\0" * path.stat().st_size)  # same inode, same size, no content


def keep(path: Path) -> None:
    """The content reached the disk (the common case)."""


# damage done to one placed file -> the test expects it re-uploaded (True) or kept (False)
DAMAGE: dict[str, tuple[Callable[[Path], None], bool]] = {
    "truncated to 0 bytes": (truncate, True),
    "right size, zeroed": (zero, True),
    "intact": (keep, False),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_an_unconfirmed_file_is_reverified_and_repaired_by_the_next_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    damage, reuploaded = DAMAGE[case]
    sources = []
    for index in range(5):
        source = tmp_path / "src" / f"f{index}.dat"
        source.parent.mkdir(exist_ok=True)
        source.write_bytes(f"content {index:04d}".encode())
        sources.append(source)
    folder = tmp_path / "server" / "ds"
    jobs = [upload_job(source, folder / source.name) for source in sources]
    upload_without_flush(monkeypatch, jobs)
    assert len(temporaries(folder)) == 5  # every placed file is still marked unconfirmed
    victim = folder / "f2.dat"
    witness = tmp_path / "witness"  # holds the placed inode, so its number is not reused
    os.link(victim, witness)
    damage(victim)

    storage = LocalStorage()
    listed = storage.list_tree(RemotePath(folder.as_posix()))
    assert sorted(Path(p).name for p in listed) == []  # unconfirmed: the plan uploads again

    storage.upload(jobs)
    for source in sources:
        assert (folder / source.name).read_bytes() == source.read_bytes()
    assert (not victim.samefile(witness)) is reuploaded
    assert temporaries(folder) == []
    assert len(storage.list_tree(RemotePath(folder.as_posix()))) == 5


def test_a_differing_file_without_the_mark_is_still_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "a.dat"
    source.write_bytes(b"mine")
    folder = tmp_path / "server"
    folder.mkdir()
    (folder / "a.dat").write_bytes(b"them")
    # a temporary left for the name, but not a link to the file there: not scisync's file
    (folder / ".a.dat.scisync-tmp-0123456789ab").write_bytes(b"mine")
    with pytest.raises(StorageError, match="different file"):
        LocalStorage().upload([upload_job(source, folder / "a.dat")])
    assert (folder / "a.dat").read_bytes() == b"them"
    assert temporaries(folder) == []


def test_a_finished_upload_leaves_no_mark_and_lists_every_file(tmp_path: Path) -> None:
    folder = tmp_path / "server"
    jobs = []
    for index in range(3):
        source = tmp_path / f"f{index}"
        source.write_bytes(bytes([index]) * index)
        jobs.append(upload_job(source, folder / source.name))
    LocalStorage().upload(jobs)
    assert temporaries(folder) == []
    assert all((folder / f"f{i}").stat().st_nlink == 1 for i in range(3))
    assert len(LocalStorage().list_tree(RemotePath(folder.as_posix()))) == 3


def test_a_failed_flush_fails_the_batch_and_keeps_the_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "a.dat"
    source.write_bytes(b"data")
    folder = tmp_path / "server"

    def refuse(files: object, folders: object) -> None:
        raise OSError(5, "Input/output error", str(folder))

    monkeypatch.setattr(_durable, "flush_files", refuse)
    with pytest.raises(StorageError, match="cannot flush files to disk: Input/output error"):
        LocalStorage().upload([upload_job(source, folder / "a.dat")])
    assert len(temporaries(folder)) == 1  # still marked: the next run re-verifies it


def test_flush_falls_back_to_fsync_per_file_without_syncfs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync_path = _durable._fsync_path

    def counting(path: str) -> None:
        synced.append(path)
        real_fsync_path(path)

    monkeypatch.setattr(_durable, "_syncfs", lambda: None)
    monkeypatch.setattr(_durable, "_fsync_path", counting)
    folder = tmp_path / "server"
    jobs = []
    for index in range(4):
        source = tmp_path / f"f{index}"
        source.write_bytes(b"x")
        jobs.append(upload_job(source, folder / source.name))
    LocalStorage().upload(jobs)
    assert sorted(Path(p).name for p in synced) == ["f0", "f1", "f2", "f3"]  # each file once
    assert temporaries(folder) == []


def test_batches_flushing_together_share_a_syncfs_that_started_after_they_asked() -> None:
    group = _durable._SyncGroup()
    calls: list[int] = []
    first_running, release = threading.Event(), threading.Event()

    def syncfs(fd: int) -> int:
        calls.append(fd)
        if len(calls) == 1:
            first_running.set()
            release.wait(10)
        return 0

    first = threading.Thread(target=group.sync, args=(1, syncfs, "/a"))
    first.start()
    assert first_running.wait(10)
    # Two batches ask while the first syncfs runs: it may have missed their writes.
    late = [threading.Thread(target=group.sync, args=(n, syncfs, "/b")) for n in (2, 3)]
    for thread in late:
        thread.start()
    deadline = time.monotonic() + 10
    while group._asked < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in (first, *late):
        thread.join(10)
    assert len(calls) == 2  # the two late ones share one syncfs, started after they asked
    assert calls[0] == 1


def test_a_failed_syncfs_covers_nothing() -> None:
    group = _durable._SyncGroup()
    answers = [-1, 0]
    calls: list[int] = []

    def syncfs(fd: int) -> int:
        calls.append(fd)
        return answers.pop(0)

    with pytest.raises(OSError) as caught:
        group.sync(1, syncfs, "/server/folder")
    assert caught.value.filename == "/server/folder"
    group.sync(2, syncfs, "/server/folder")  # asks again: the failed one vouched for nothing
    assert calls == [1, 2]
