"""Behaviour every Storage backend must share: local, SFTP with a shell, SFTP-only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scisync._util.hashing import hash_file
from scisync.errors import ChecksumMismatch, StorageError
from scisync.storage.base import Checksum, DownloadJob, RemotePath, UploadJob
from scisync.storage.sftp.stream import SPLIT_THRESHOLD

if TYPE_CHECKING:
    from tests.storage.backends import Backend


class Boom(Exception):
    """Injected failure in the middle of a transfer."""


def fail_after(limit: int) -> object:
    seen = 0

    def progress(count: int) -> None:
        nonlocal seen
        seen += count
        if seen >= limit:
            raise Boom(f"injected failure after {seen} bytes")

    return progress


def local_file(folder: Path, name: str, data: bytes) -> UploadJob:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return UploadJob(path, RemotePath("/"), len(data), hash_file(path, ["blake3"])["blake3"])


def job_to(job: UploadJob, remote: Path) -> UploadJob:
    return UploadJob(job.local, RemotePath(remote.as_posix()), job.size, job.blake3)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".scisync-tmp-" in p.name)


def test_upload_download_round_trip(backend: Backend, tmp_path: Path) -> None:
    src = tmp_path / "src"
    contents = {
        "big.bin": os.urandom(3 * 2**20 + 11),
        "nested/deeper/a.txt": b"hello",
        "empty.dat": b"",
        **{f"many/f{i}.bin": os.urandom(5000 + i) for i in range(30)},
    }
    jobs = [
        job_to(local_file(src, name, data), backend.remote_root / "ds" / name)
        for name, data in contents.items()
    ]
    progressed: list[int] = []
    seen: list[tuple[str, int]] = []  # ("bytes", n) and ("done", index), in order

    def on_bytes(n: int) -> None:
        progressed.append(n)
        seen.append(("bytes", n))

    backend.storage.upload(jobs, on_bytes, lambda index: seen.append(("done", index)))
    assert sum(progressed) == sum(len(d) for d in contents.values())
    # Each file is reported done once, and files are reported as their bytes move, not
    # all at the end of the batch.
    done = [index for kind, index in seen if kind == "done"]
    assert sorted(done) == list(range(len(jobs)))
    first_done = next(i for i, (kind, _) in enumerate(seen) if kind == "done")
    assert sum(n for kind, n in seen[:first_done] if kind == "bytes") < sum(progressed)
    for name, data in contents.items():
        assert (backend.remote_root / "ds" / name).read_bytes() == data
    assert leftovers(backend.remote_root) == []

    tree = backend.storage.list_tree(RemotePath((backend.remote_root / "ds").as_posix()))
    expected = {RemotePath((backend.remote_root / "ds" / n).as_posix()) for n in contents}
    assert set(tree) == expected
    big = RemotePath((backend.remote_root / "ds" / "big.bin").as_posix())
    assert tree[big].size == len(contents["big.bin"])

    dest = tmp_path / "dest"
    downloads = [
        DownloadJob(
            RemotePath((backend.remote_root / "ds" / name).as_posix()),
            dest / name,
            len(data),
            (Checksum("SHA-256", hashlib.sha256(data).hexdigest()),),
        )
        for name, data in contents.items()
    ]
    downloaded: list[int] = []
    backend.storage.download(downloads, None, downloaded.append)
    assert sorted(downloaded) == list(range(len(downloads)))
    for name, data in contents.items():
        assert (dest / name).read_bytes() == data
    assert leftovers(dest) == []


def test_upload_skips_an_identical_remote_file(backend: Backend, tmp_path: Path) -> None:
    job = job_to(local_file(tmp_path, "a.bin", os.urandom(70000)), backend.remote_root / "a.bin")
    backend.storage.upload([job])
    before = (backend.remote_root / "a.bin").stat()
    backend.storage.upload([job])
    after = (backend.remote_root / "a.bin").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_upload_refuses_to_overwrite_a_differing_file(backend: Backend, tmp_path: Path) -> None:
    remote = backend.remote_root / "a.bin"
    remote.write_bytes(b"someone else's data, same length!!")
    job = job_to(local_file(tmp_path, "a.bin", b"x" * remote.stat().st_size), remote)
    with pytest.raises(StorageError, match="different file already exists") as caught:
        backend.storage.upload([job])
    assert "never overwrites" in str(caught.value)
    assert remote.read_bytes() == b"someone else's data, same length!!"
    other = job_to(local_file(tmp_path, "b.bin", b"short"), remote)
    with pytest.raises(StorageError, match="different file already exists"):
        backend.storage.upload([other])
    assert leftovers(backend.remote_root) == []


def test_upload_detects_a_local_file_changed_since_hashing(
    backend: Backend, tmp_path: Path
) -> None:
    job = job_to(local_file(tmp_path, "a.bin", b"original"), backend.remote_root / "a.bin")
    job.local.write_bytes(b"modified")
    with pytest.raises(StorageError, match="changed since it was hashed"):
        backend.storage.upload([job])
    assert list(backend.remote_root.iterdir()) == []


def test_one_failed_upload_does_not_stop_the_others(backend: Backend, tmp_path: Path) -> None:
    (backend.remote_root / "taken.bin").write_bytes(b"other")
    jobs = [
        job_to(local_file(tmp_path, f"f{i}.bin", os.urandom(100)), backend.remote_root / f"f{i}")
        for i in range(6)
    ]
    bad = job_to(local_file(tmp_path, "t.bin", b"mine!"), backend.remote_root / "taken.bin")
    with pytest.raises(StorageError, match=r"taken\.bin"):
        backend.storage.upload([*jobs[:3], bad, *jobs[3:]])
    for i in range(6):
        assert (backend.remote_root / f"f{i}").exists()


def test_corrupted_remote_file_is_detected_on_download(backend: Backend, tmp_path: Path) -> None:
    data = os.urandom(600_000)
    remote = backend.remote_root / "a.bin"
    remote.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    corrupted = bytearray(data)
    corrupted[300_000] ^= 0xFF
    remote.write_bytes(bytes(corrupted))
    dest = tmp_path / "dest"
    job = DownloadJob(
        RemotePath(remote.as_posix()), dest / "a.bin", len(data), (Checksum("sha256", expected),)
    )
    with pytest.raises(ChecksumMismatch, match="sha256 checksum mismatch"):
        backend.storage.download([job])
    assert not (dest / "a.bin").exists()
    assert leftovers(tmp_path) == []


def test_download_refuses_a_remote_file_of_unexpected_size(
    backend: Backend, tmp_path: Path
) -> None:
    remote = backend.remote_root / "a.bin"
    remote.write_bytes(b"12345")
    job = DownloadJob(RemotePath(remote.as_posix()), tmp_path / "a.bin", 6)
    with pytest.raises(ChecksumMismatch):
        backend.storage.download([job])
    assert not (tmp_path / "a.bin").exists()


# A missing file is one message whichever way it is asked for: a small download (SFTP's
# pipelined path), a large one (SFTP's one file per connection), a server-side checksum.
MISSING_WAYS = ["small download", "large download", "remote checksum"]


@pytest.mark.parametrize("way", MISSING_WAYS)
def test_a_missing_remote_file_says_so(backend: Backend, tmp_path: Path, way: str) -> None:
    remote = RemotePath((backend.remote_root / "nope").as_posix())
    size = {"small download": None, "large download": SPLIT_THRESHOLD}.get(way)
    with pytest.raises(StorageError) as raised:
        if way == "remote checksum":
            backend.storage.remote_checksum(remote, "md5")
        else:
            backend.storage.download([DownloadJob(remote, tmp_path / "nope", size)])
    text = str(raised.value)
    assert str(remote) in text
    if way == "remote checksum" and backend.name == "local":  # the local file hasher's
        assert "cannot read file to hash it" in text
        return
    place = "storage" if backend.name == "local" else "server"
    assert f"file not found on the {place}" in text and "moved or deleted" in text
    assert raised.value.__cause__ is None  # the OSError's text adds nothing


def test_download_keeps_an_identical_local_file_and_refuses_a_different_one(
    backend: Backend, tmp_path: Path
) -> None:
    data = os.urandom(10_000)
    remote = backend.remote_root / "a.bin"
    remote.write_bytes(data)
    checksum = Checksum("blake3", hash_file(remote, ["blake3"])["blake3"])
    local = tmp_path / "a.bin"
    local.write_bytes(data)
    inode = local.stat().st_ino
    backend.storage.download(
        [DownloadJob(RemotePath(remote.as_posix()), local, 10_000, (checksum,))]
    )
    assert local.stat().st_ino == inode  # untouched: already correct
    # Without a checksum to trust, it is fetched and compared: identical is fine.
    backend.storage.download([DownloadJob(RemotePath(remote.as_posix()), local, None)])
    assert local.read_bytes() == data

    local.write_bytes(b"my own edits")
    with pytest.raises(StorageError, match="different file already exists"):
        backend.storage.download([DownloadJob(RemotePath(remote.as_posix()), local, None)])
    assert local.read_bytes() == b"my own edits"
    assert leftovers(tmp_path) == []


def test_interrupted_upload_leaves_no_partial_file(backend: Backend, tmp_path: Path) -> None:
    job = job_to(
        local_file(tmp_path, "big.bin", os.urandom(6 * 2**20)), backend.remote_root / "big.bin"
    )
    with pytest.raises(Boom):
        backend.storage.upload([job], fail_after(2 * 2**20))  # type: ignore[arg-type]
    assert list(backend.remote_root.iterdir()) == []
    backend.storage.upload([job])  # and the storage still works afterwards
    assert (backend.remote_root / "big.bin").read_bytes() == job.local.read_bytes()


def test_interrupted_download_leaves_no_partial_file(backend: Backend, tmp_path: Path) -> None:
    remote = backend.remote_root / "big.bin"
    remote.write_bytes(os.urandom(6 * 2**20))
    dest = tmp_path / "dest"
    job = DownloadJob(RemotePath(remote.as_posix()), dest / "big.bin", 6 * 2**20)
    with pytest.raises(Boom):
        backend.storage.download([job], fail_after(2 * 2**20))  # type: ignore[arg-type]
    assert list(dest.iterdir()) == []
    backend.storage.download([job])
    assert (dest / "big.bin").read_bytes() == remote.read_bytes()


def test_temporaries_left_by_a_killed_process_are_swept(backend: Backend, tmp_path: Path) -> None:
    # A SIGKILL leaves `.<name>.scisync-tmp-<random>`; the next transfer of <name> removes it,
    # and leaves temporaries of other names (perhaps another writer's) alone.
    job = job_to(local_file(tmp_path, "a.bin", b"content"), backend.remote_root / "a.bin")
    (backend.remote_root / ".a.bin.scisync-tmp-0123456789ab").write_bytes(b"half")
    (backend.remote_root / ".other.bin.scisync-tmp-0123456789ab").write_bytes(b"half")
    backend.storage.upload([job])
    assert sorted(p.name for p in backend.remote_root.iterdir()) == [
        ".other.bin.scisync-tmp-0123456789ab",
        "a.bin",
    ]
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / ".a.bin.scisync-tmp-ba9876543210").write_bytes(b"half")
    backend.storage.download(
        [DownloadJob(RemotePath((backend.remote_root / "a.bin").as_posix()), dest / "a.bin", 7)]
    )
    assert sorted(p.name for p in dest.iterdir()) == ["a.bin"]


def test_stat_reports_files_symlinks_and_absence(backend: Backend) -> None:
    (backend.remote_root / "a.bin").write_bytes(b"abc")
    os.symlink(backend.remote_root / "a.bin", backend.remote_root / "link")
    stat = backend.storage.stat(RemotePath((backend.remote_root / "a.bin").as_posix()))
    assert stat is not None
    assert (stat.size, stat.is_symlink) == (3, False)
    link = backend.storage.stat(RemotePath((backend.remote_root / "link").as_posix()))
    assert link is not None
    assert link.is_symlink
    assert backend.storage.stat(RemotePath((backend.remote_root / "no").as_posix())) is None


def test_list_tree_of_absent_folder_is_empty_and_temp_files_are_hidden(
    backend: Backend,
) -> None:
    assert backend.storage.list_tree(RemotePath((backend.remote_root / "no").as_posix())) == {}
    (backend.remote_root / ".a.bin.scisync-tmp-123456").write_bytes(b"partial")
    (backend.remote_root / "a.bin").write_bytes(b"done")
    tree = backend.storage.list_tree(RemotePath(backend.remote_root.as_posix()))
    assert [p.name for p in tree] == ["a.bin"]


def test_remote_checksum(backend: Backend) -> None:
    data = os.urandom(123_457)
    remote = backend.remote_root / "a.bin"
    remote.write_bytes(data)
    path = RemotePath(remote.as_posix())
    if backend.has_remote_checksum:
        assert backend.storage.remote_checksum(path, "SHA-256") == hashlib.sha256(data).hexdigest()
        assert backend.storage.remote_checksum(path, "md5") == hashlib.md5(data).hexdigest()
        assert (
            backend.storage.remote_checksum(path, "blake3")
            == hash_file(remote, ["blake3"])["blake3"]
        )
    else:
        assert backend.storage.remote_checksum(path, "sha256") is None
        assert backend.storage.remote_checksum(path, "sha256") is None  # cached, still None
    with pytest.raises(StorageError):
        backend.storage.remote_checksum(RemotePath((backend.remote_root / "no").as_posix()), "md5")
