"""Local downloads run in two phases: every file to a verified temporary, one flush for
the batch, then the placement.  What each phase may leave behind, the digests handed back,
and the confinement checks made on descriptors (a symlink swapped in after a check)."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

import pytest

from scisync._util.hashing import StreamingHasher, hash_file
from scisync.errors import StorageError
from scisync.storage import _local_download
from scisync.storage.base import Checksum, DownloadJob, RemotePath
from scisync.storage.local import LocalStorage
from scisync.storage.roots import Roots

NAMES = ["a.dat", "sub/b.dat", "sub/deeper/c.dat"]


def store_files(store: Path) -> None:
    for index, name in enumerate(NAMES):
        (store / name).parent.mkdir(parents=True, exist_ok=True)
        (store / name).write_bytes(f"content {index}".encode())


def jobs_for(store: Path, target: Path, *, expected: bool = True) -> list[DownloadJob]:
    jobs = []
    for name in NAMES:
        source = store / name
        checksums = (Checksum("blake3", hash_file(source, ["blake3"])["blake3"]),)
        jobs.append(
            DownloadJob(
                RemotePath(source.as_posix()),
                target / name,
                source.stat().st_size,
                checksums if expected else (),
                within=target,
            )
        )
    return jobs


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".scisync-tmp-" in p.name)


def placed(target: Path) -> list[str]:
    return sorted(
        p.relative_to(target).as_posix()
        for p in target.rglob("*")
        if p.is_file() and ".scisync-tmp-" not in p.name
    )


def test_the_batch_is_flushed_before_any_name_is_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, target = tmp_path / "store", tmp_path / "target"
    store_files(store)
    seen: list[tuple[list[str], int]] = []
    real = _local_download.flush_contents

    def flush(files: Iterable[str], folders: Iterable[str]) -> None:
        files = list(files)
        seen.append((placed(target), len(files)))
        real(files, folders)

    monkeypatch.setattr(_local_download, "flush_contents", flush)
    LocalStorage().download(jobs_for(store, target))
    assert seen == [([], len(NAMES))]  # one flush, of every temporary, before any name
    assert placed(target) == sorted(NAMES)
    assert temporaries(target) == []
    for name in NAMES:
        assert (target / name).read_bytes() == (store / name).read_bytes()


def test_a_failed_flush_places_nothing_and_leaves_no_temporaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, target = tmp_path / "store", tmp_path / "target"
    store_files(store)

    def refuse(files: object, folders: object) -> None:
        raise OSError(errno.EIO, "Input/output error", str(target))

    monkeypatch.setattr(_local_download, "flush_contents", refuse)
    with pytest.raises(StorageError, match="cannot flush files to disk: Input/output error"):
        LocalStorage().download(jobs_for(store, target))
    assert placed(target) == []
    assert temporaries(target) == []


@pytest.mark.parametrize("expected", [True, False], ids=["with checksums", "without"])
def test_temporaries_a_killed_download_left_are_swept_and_the_files_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expected: bool
) -> None:
    store, target = tmp_path / "store", tmp_path / "target"
    store_files(store)
    with monkeypatch.context() as patch:  # the process "dies" before its flush
        patch.setattr(_local_download.FetchedBatch, "discard", lambda self: None)
        patch.setattr(_local_download, "flush_contents", _killed)
        with pytest.raises(KeyboardInterrupt):
            LocalStorage().download(jobs_for(store, target, expected=expected))
    assert placed(target) == []  # a name is placed only after its content was flushed
    assert len(temporaries(target)) == len(NAMES)
    LocalStorage().download(jobs_for(store, target, expected=expected))
    assert placed(target) == sorted(NAMES)
    assert temporaries(target) == []


def _killed(files: object, folders: object) -> None:
    raise KeyboardInterrupt


def test_the_digests_computed_while_copying_are_handed_back_with_the_placed_stat(
    tmp_path: Path,
) -> None:
    store, target = tmp_path / "store", tmp_path / "target"
    store_files(store)
    jobs = jobs_for(store, target)
    reported: dict[int, tuple[Mapping[str, str], os.stat_result]] = {}
    LocalStorage().download_reporting(
        jobs, digests=lambda index, found, st: reported.__setitem__(index, (found, st))
    )
    assert sorted(reported) == list(range(len(jobs)))
    for index, job in enumerate(jobs):
        found, st = reported[index]
        assert found["blake3"] == hash_file(job.local, ["blake3"])["blake3"]
        now = os.lstat(job.local)
        assert (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == (
            now.st_ino,
            now.st_size,
            now.st_mtime_ns,
            now.st_ctime_ns,
        )
    # A second download finds every file in place: nothing is reported (nothing was copied).
    again: list[int] = []
    LocalStorage().download_reporting(jobs, digests=lambda index, found, st: again.append(index))
    assert again == []


def test_a_different_file_in_the_way_is_refused_and_kept(tmp_path: Path) -> None:
    store, target = tmp_path / "store", tmp_path / "target"
    store_files(store)
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "b.dat").write_bytes(b"theirs")
    with pytest.raises(StorageError, match="a different file already exists here"):
        LocalStorage().download(jobs_for(store, target, expected=False))
    assert (target / "sub" / "b.dat").read_bytes() == b"theirs"
    assert placed(target) == sorted(NAMES)  # the others were placed
    assert temporaries(target) == []


def test_a_folder_swapped_for_a_symlink_after_its_check_is_not_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, target, outside = tmp_path / "store", tmp_path / "target", tmp_path / "outside"
    store_files(store)
    outside.mkdir()
    real_prepare = _local_download.TargetFolders.prepare

    def prepare_then_swap(self: _local_download.TargetFolders, folder: str, within: Path) -> None:
        real_prepare(self, folder, within)
        if folder.endswith("deeper") and not os.path.islink(folder):
            os.rmdir(folder)
            os.symlink(outside, folder)  # an attacker's swap, between check and write

    monkeypatch.setattr(_local_download.TargetFolders, "prepare", prepare_then_swap)
    with pytest.raises(StorageError, match="outside the target folder"):
        LocalStorage().download(jobs_for(store, target))
    assert list(outside.iterdir()) == []


def test_a_source_swapped_for_a_symlink_after_its_check_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, target, secret = tmp_path / "store", tmp_path / "target", tmp_path / "secret"
    store_files(store)
    secret.mkdir()
    (secret / "key").write_bytes(b"content 0")  # same size: only the path check can tell
    storage = LocalStorage(roots=Roots.of(PurePosixPath(store.as_posix())))
    real_check = LocalStorage._check_source

    def check_then_swap(self: LocalStorage, source: str, real_folders: dict[str, str]) -> None:
        real_check(self, source, real_folders)
        if source.endswith("a.dat"):
            os.unlink(source)
            os.symlink(secret / "key", source)

    monkeypatch.setattr(LocalStorage, "_check_source", check_then_swap)
    with pytest.raises(StorageError, match="refusing to read"):
        storage.download(jobs_for(store, target, expected=False))
    assert not (target / "a.dat").exists()
    assert temporaries(target) == []


def test_opened_path_without_proc_compares_device_and_inode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real"
    real.write_bytes(b"x")
    link = tmp_path / "link"
    link.symlink_to(real)

    real_readlink = os.readlink

    def no_proc(path: str) -> str:
        if str(path).startswith("/proc/"):
            raise OSError(errno.ENOENT, "no /proc here")
        return real_readlink(path)

    monkeypatch.setattr(os, "readlink", no_proc)
    fd = os.open(link, os.O_RDONLY)
    try:
        assert _local_download.opened_path(fd, str(link)) == str(real)
        other = tmp_path / "other"
        other.write_bytes(b"y")
        link.unlink()
        link.symlink_to(other)  # swapped after the open
        with pytest.raises(StorageError, match="changed while it was opened"):
            _local_download.opened_path(fd, str(link))
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (0, 0),
        (16, 16),
        (16, None),  # size unknown: whole chunks
        (17, 16),  # grew by one byte: the first read comes back full
        (5 * 2**20, 16),  # grew past a chunk: the rest in whole chunks
        (16, 5 * 2**20),  # shrank
        (_local_download.COPY_CHUNK, _local_download.COPY_CHUNK),
    ],
)
def test_a_copy_takes_the_whole_file_whatever_size_was_expected(
    tmp_path: Path, actual: int, expected: int | None
) -> None:
    """Reads are sized by the expected size (a 4 MiB buffer per 16-byte file was 50 MB of
    a pull's peak), but what is copied and hashed is always the whole file."""
    content = os.urandom(actual)
    (tmp_path / "source").write_bytes(content)
    source = os.open(tmp_path / "source", os.O_RDONLY)
    sink = os.open(tmp_path / "copy", os.O_WRONLY | os.O_CREAT)
    hasher = StreamingHasher(["blake3"])
    try:
        copied = _local_download._copy(source, sink, hasher, None, threading.Event(), expected)
    finally:
        os.close(source)
        os.close(sink)
    assert copied == actual
    assert (tmp_path / "copy").read_bytes() == content
    assert hasher.hexdigests()["blake3"] == hash_file(tmp_path / "source", ["blake3"])["blake3"]
