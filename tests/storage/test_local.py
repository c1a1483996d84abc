"""LocalStorage specifics: hard links, and refusing relative 'remote' paths."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from scisync._util.hashing import hash_file
from scisync.errors import StorageError
from scisync.storage.base import RemotePath, UploadJob
from scisync.storage.local import PARALLEL_MEAN_SIZE, LocalStorage


def upload_job(local: Path, remote: Path) -> UploadJob:
    return UploadJob(
        local,
        RemotePath(remote.as_posix()),
        local.stat().st_size,
        hash_file(local, ["blake3"])["blake3"],
    )


def test_hardlink_mode_links_instead_of_copying(tmp_path: Path) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(os.urandom(1000))
    target = tmp_path / "server" / "ds" / "a.bin"
    LocalStorage(hardlink=True).upload([upload_job(local, target)])
    assert target.stat().st_ino == local.stat().st_ino
    LocalStorage(hardlink=True).upload([upload_job(local, target)])  # identical: fine
    assert [p.name for p in target.parent.iterdir()] == ["a.bin"]


def test_hardlink_mode_still_refuses_a_differing_file(tmp_path: Path) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(b"mine")
    target = tmp_path / "server" / "a.bin"
    target.parent.mkdir()
    target.write_bytes(b"them")
    with pytest.raises(StorageError, match="different file"):
        LocalStorage(hardlink=True).upload([upload_job(local, target)])
    assert target.read_bytes() == b"them"


def test_copy_mode_makes_an_independent_copy(tmp_path: Path) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(b"data")
    target = tmp_path / "server" / "a.bin"
    LocalStorage().upload([upload_job(local, target)])
    assert target.stat().st_ino != local.stat().st_ino
    assert target.read_bytes() == b"data"


def test_relative_remote_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not absolute"):
        LocalStorage().stat(RemotePath("relative/path"))


def test_describe_is_plain() -> None:
    assert LocalStorage().describe() == "local file system"


def test_a_cancelled_upload_starts_no_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    import threading

    from scisync.apply.cancel import Cancellation

    files = []
    for number in range(6):
        local = tmp_path / f"f{number}.dat"
        local.write_bytes(b"x" * 1000)
        files.append(upload_job(local, tmp_path / "store" / local.name))
    cancel = Cancellation()
    seen: list[int] = []
    lock = threading.Lock()

    def progress(n: int) -> None:
        with lock:
            seen.append(n)
            cancel.cancel()  # after the first chunk of the first file

    with pytest.raises(StorageError, match="transfer cancelled"):
        LocalStorage(workers=2).upload(files, progress, cancel=cancel)
    store = tmp_path / "store"
    placed = sorted(p.name for p in store.iterdir()) if store.exists() else []
    assert [name for name in placed if "scisync-tmp" in name] == []
    assert len(placed) <= 1  # at most one file raced its placement; the rest never started
    assert cancel.exit_code == 130 and cancel.signal_name == "SIGINT"


def test_local_storage_refuses_reads_and_writes_outside_its_roots(tmp_path: Path) -> None:
    from scisync.storage.roots import Roots

    store, secret = tmp_path / "store", tmp_path / "secret"
    store.mkdir()
    secret.mkdir()
    (secret / "key").write_bytes(b"k")
    (store / "link").symlink_to(secret)
    storage = LocalStorage(roots=Roots(writable=(RemotePath(store.as_posix()),)))
    for path in (secret / "key", store / "link" / "key"):
        with pytest.raises(StorageError, match="refusing to read"):
            storage.remote_checksum(RemotePath(path.as_posix()), "sha256")
    local = tmp_path / "a.dat"
    local.write_bytes(b"a")
    with pytest.raises(StorageError, match="refusing to write"):
        storage.upload([upload_job(local, store / "link" / "a.dat")])
    assert sorted(p.name for p in secret.iterdir()) == ["key"]


def _identical(target: Path, local: Path) -> None:
    target.write_bytes(local.read_bytes())


def _different(target: Path, local: Path) -> None:
    target.write_bytes(b"theirs")


def _folder(target: Path, local: Path) -> None:
    target.mkdir()


def _symlink(target: Path, local: Path) -> None:
    target.symlink_to(local)  # even one pointing at the very same content


IN_THE_WAY = {
    "identical file": (_identical, None),
    "different file": (_different, "a different file already exists here"),
    "folder": (_folder, "something other than a regular file is in the way"),
    "symlink": (_symlink, "something other than a regular file is in the way"),
}


@pytest.mark.parametrize("hardlink", [False, True], ids=["copy", "hardlink"])
@pytest.mark.parametrize("size", [16, 3 * 2**20], ids=["small", "large"])
@pytest.mark.parametrize("case", sorted(IN_THE_WAY))
def test_what_is_already_at_the_target_is_kept_or_refused_never_replaced(
    tmp_path: Path, case: str, size: int, hardlink: bool
) -> None:
    """No look before the write: an existing name is found when linking, and judged then."""
    make, refusal = IN_THE_WAY[case]
    local = tmp_path / "a.bin"
    local.write_bytes(os.urandom(size))
    target = tmp_path / "server" / "a.bin"
    target.parent.mkdir()
    make(target, local)
    before = (target.lstat().st_ino, target.is_dir() or target.read_bytes())
    storage = LocalStorage(hardlink=hardlink)
    if refusal is None:
        storage.upload([upload_job(local, target)])
    else:
        with pytest.raises(StorageError, match=refusal):
            storage.upload([upload_job(local, target)])
    assert (target.lstat().st_ino, target.is_dir() or target.read_bytes()) == before
    assert [p.name for p in target.parent.iterdir()] == ["a.bin"]  # no temporary left


class RecordingWitness:
    """A LinkWitness that answers *vouch* and records what it was asked and told."""

    def __init__(self, vouch: bool) -> None:
        self.vouch = vouch
        self.asked: list[int] = []
        self.linked_stats: list[tuple[os.stat_result, os.stat_result]] = []

    def vouches(self, index: int, before: os.stat_result) -> bool:
        self.asked.append(index)
        return self.vouch

    def linked(self, index: int, before: os.stat_result, after: os.stat_result) -> None:
        self.linked_stats.append((before, after))


@pytest.mark.parametrize(
    ("witness", "edited", "outcome"),
    [
        # nobody vouches: the file is read first; unchanged -> linked, edited -> refused
        (None, False, "linked"),
        (None, True, "refused"),
        (False, False, "linked"),
        (False, True, "refused"),
        # a witness that vouches is trusted: no read (the edit goes unseen: the witness's
        # stamp rule, the hash cache's, is what catches an edit; see test_hardlinks.py)
        (True, False, "linked"),
        (True, True, "linked"),
    ],
)
def test_a_hard_link_is_made_only_of_content_vouched_for_or_read_again(
    tmp_path: Path, witness: bool | None, edited: bool, outcome: str
) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(b"hashed content")
    job = upload_job(local, tmp_path / "server" / "a.bin")
    if edited:
        local.write_bytes(b"edited content")  # same size, after the job was hashed
    links = None if witness is None else RecordingWitness(witness)
    storage = LocalStorage(hardlink=True)
    target = tmp_path / "server" / "a.bin"
    if outcome == "refused":
        with pytest.raises(StorageError, match="changed since it was hashed"):
            storage.upload([job], links=links)
        assert not target.exists()
    else:
        storage.upload([job], links=links)
        assert target.stat().st_ino == local.stat().st_ino
    if links is not None:
        assert links.asked == [0]
        linked = outcome == "linked"
        assert len(links.linked_stats) == (1 if linked else 0)
        for before, after in links.linked_stats:
            assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
            assert after.st_nlink == before.st_nlink + 1


def test_copy_mode_never_asks_a_witness(tmp_path: Path) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(b"data")
    links = RecordingWitness(True)
    LocalStorage().upload([upload_job(local, tmp_path / "server" / "a.bin")], links=links)
    assert links.asked == []


def _upload_batches_at_once(storage: LocalStorage, batches: list[list[UploadJob]]) -> None:
    """Run each batch's upload on its own thread, as datasets in flight do."""
    errors: list[BaseException] = []

    def run(jobs: list[UploadJob]) -> None:
        try:
            storage.upload(jobs)
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(jobs,)) for jobs in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors


def _batches(tmp_path: Path, count: int, files: int, size: int) -> list[list[UploadJob]]:
    batches = []
    for number in range(count):
        source = tmp_path / f"src{number}"
        source.mkdir()
        jobs = []
        for index in range(files):
            local = source / f"f{index}.dat"
            local.write_bytes(os.urandom(size))
            jobs.append(upload_job(local, tmp_path / "server" / f"ds{number}" / local.name))
        batches.append(jobs)
    return batches


def test_small_file_batches_in_flight_at_once_copy_one_after_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two datasets' small-file batches never copy at the same time (they would only trade
    the GIL at every system call); each file still lands."""
    storage = LocalStorage()
    batches = _batches(tmp_path, count=3, files=8, size=16)
    copying, most = set[int](), [0]
    guard = threading.Lock()
    real = storage._copy_small

    def observed(job: UploadJob, *args: Any) -> None:
        with guard:
            copying.add(threading.get_ident())
            most[0] = max(most[0], len(copying))
        time.sleep(0.005)  # long enough for another batch's thread to start meanwhile
        try:
            real(job, *args)
        finally:
            with guard:
                copying.discard(threading.get_ident())

    monkeypatch.setattr(storage, "_copy_small", observed)
    _upload_batches_at_once(storage, batches)
    assert most[0] == 1
    for jobs in batches:
        for job in jobs:
            assert Path(str(job.remote)).read_bytes() == job.local.read_bytes()


def test_large_file_batches_in_flight_at_once_still_copy_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane is for small files only: two batches of one large file each copy at once
    (each waits at a barrier the other must reach while it is still copying)."""
    storage = LocalStorage()
    batches = _batches(tmp_path, count=2, files=1, size=PARALLEL_MEAN_SIZE + 1)
    both_copying = threading.Barrier(2, timeout=10)
    real = storage._copy_streaming

    def meeting(job: UploadJob, *args: Any) -> None:
        both_copying.wait()  # BrokenBarrierError if the other batch cannot start meanwhile
        real(job, *args)

    monkeypatch.setattr(storage, "_copy_streaming", meeting)
    _upload_batches_at_once(storage, batches)
    for jobs in batches:
        assert Path(str(jobs[0].remote)).read_bytes() == jobs[0].local.read_bytes()
