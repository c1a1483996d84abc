"""Pipelined SFTP transfers of many files against a real OpenSSH sshd: contents, one failing
file among many, a connection killed or the client killed mid-batch, then resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scisync._util.hashing import hash_file
from scisync.errors import ChecksumMismatch, StorageError
from scisync.storage._transfer import is_temp_name
from scisync.storage.base import Checksum, DownloadJob, RemotePath, UploadJob
from scisync.storage.sftp import pipeline
from tests.storage.backends import sftp_storage
from tests.storage.sshd_faults import kill_sessions

if TYPE_CHECKING:
    from scisync.testing.sshd import SshServer

# 0 bytes, tiny, one write, several writes in one batch, several batches
SIZES = [0, 1, 4096, 300_000, 5 * 2**20]


def make_files(folder: Path, count: int) -> list[Path]:
    files = []
    for i in range(count):
        path = folder / f"d{i % 3}" / f"f{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        size = SIZES[i % len(SIZES)] if i < len(SIZES) * 2 else 4096 + i
        path.write_bytes(os.urandom(size))
        files.append(path)
    return files


def upload_jobs(files: list[Path], src: Path, dst: Path) -> list[UploadJob]:
    return [
        UploadJob(
            p,
            RemotePath((dst / p.relative_to(src)).as_posix()),
            p.stat().st_size,
            hash_file(p, ["blake3"])["blake3"],
        )
        for p in files
    ]


def download_jobs(files: list[Path], src: Path, remote: Path, dst: Path) -> list[DownloadJob]:
    return [
        DownloadJob(
            RemotePath((remote / p.relative_to(src)).as_posix()),
            dst / p.relative_to(src),
            p.stat().st_size,
            (Checksum("sha256", hash_file(p, ["sha256"])["sha256"]),),
        )
        for p in files
    ]


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if is_temp_name(p.name)]


def test_many_small_files_go_up_and_come_back_identical(
    sshd_server: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "MAX_FILES", 8)  # many more files than fit in flight
    src, remote, back = tmp_path / "src", tmp_path / "remote", tmp_path / "back"
    files = make_files(src, 250)
    done: list[object] = []
    with sftp_storage(sshd_server, connections=2) as storage:
        storage.upload(upload_jobs(files, src, remote), done=done.append)
        assert tree(remote) == tree(src)
        assert len(done) == len(files)
        storage.download(download_jobs(files, src, remote, back))
    assert tree(back) == tree(src)
    assert temporaries(remote) == temporaries(back) == []


def test_one_failing_upload_is_named_and_the_others_complete(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    src, remote = tmp_path / "src", tmp_path / "remote"
    files = make_files(src, 60)
    jobs = upload_jobs(files, src, remote)
    changed = files[31]
    changed.write_bytes(os.urandom(changed.stat().st_size))  # same size, other bytes
    blocked = jobs[40].remote  # a file where its folder should be
    (remote / "d1").mkdir(parents=True)
    jobs[40] = UploadJob(jobs[40].local, RemotePath(f"{remote}/d1/x/f.bin"), jobs[40].size, "0")
    (remote / "d1" / "x").write_bytes(b"in the way")
    with sftp_storage(sshd_server) as storage, pytest.raises(StorageError) as caught:
        storage.upload(jobs)
    text = str(caught.value)
    assert str(changed) in text and "changed since it was hashed" in text
    assert f"{remote}/d1/x" in text and "file is in the way" in text
    expected = {j.remote: j.local.read_bytes() for i, j in enumerate(jobs) if i not in (31, 40)}
    for path, data in expected.items():
        assert Path(path).read_bytes() == data
    assert not Path(jobs[31].remote).exists()
    assert not Path(blocked).exists()
    assert temporaries(remote) == []


def test_one_failing_download_is_named_and_the_others_are_placed(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    src, back = tmp_path / "src", tmp_path / "back"
    files = make_files(src, 60)
    jobs = download_jobs(files, src, src, back)
    (src / "d0" / "f0009.bin").unlink()  # gone from the server
    wrong = jobs[20]
    jobs[20] = DownloadJob(wrong.remote, wrong.local, wrong.size, (Checksum("sha256", "0" * 64),))
    with sftp_storage(sshd_server) as storage, pytest.raises(StorageError) as caught:
        storage.download(jobs)
    text = str(caught.value)
    assert "file not found on the server" in text and "d0/f0009.bin" in text
    assert "sha256 checksum mismatch" in text and str(wrong.remote) in text
    assert not wrong.local.exists()
    assert not (back / "d0" / "f0009.bin").exists()
    for i, job in enumerate(jobs):
        if i not in (9, 20):
            assert job.local.read_bytes() == Path(job.remote).read_bytes()
    assert temporaries(back) == []


def test_a_wrong_size_download_is_refused_before_anything_is_written(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(5000))
    job = DownloadJob(RemotePath(src.as_posix()), tmp_path / "back" / "a.bin", 4999)
    with sftp_storage(sshd_server) as storage, pytest.raises(ChecksumMismatch, match="5000 bytes"):
        storage.download([job])
    assert temporaries(tmp_path / "back") == []
    assert not job.local.exists()


def test_killed_connections_mid_batch_fail_only_files_in_flight_and_resume(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    src, remote, back = tmp_path / "src", tmp_path / "remote", tmp_path / "back"
    files = make_files(src, 400)
    jobs = upload_jobs(files, src, remote)
    sent = 0

    def kill_once(count: int) -> None:
        nonlocal sent
        sent += count
        if sent - count < 3 * 2**20 <= sent:
            kill_sessions(sshd_server)

    with sftp_storage(sshd_server, connections=2) as storage:
        with pytest.raises(StorageError, match="cannot upload"):
            storage.upload(jobs, kill_once)
        assert temporaries(remote) == []
        storage.upload(jobs)  # resumes: what is there is checked, the rest is sent
        assert tree(remote) == tree(src)
        sent = 0
        with pytest.raises(StorageError, match="cannot download"):
            storage.download(download_jobs(files, src, remote, back), kill_once)
        assert temporaries(back) == []
        storage.download(download_jobs(files, src, remote, back))
    assert tree(back) == tree(src)


def test_a_client_killed_mid_batch_is_resumed_by_the_next_run(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    src, remote = tmp_path / "src", tmp_path / "remote"
    files = make_files(src, 300)
    jobs = upload_jobs(files, src, remote)
    listing = tmp_path / "jobs.txt"
    listing.write_text(
        "\n".join(f"{j.local}\t{j.remote}\t{j.size}\t{j.blake3}" for j in jobs) + "\n"
    )
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from scisync.storage.base import RemotePath, UploadJob
        from scisync.storage.sftp import SftpStorage
        jobs = []
        for line in Path({str(listing)!r}).read_text().splitlines():
            local, remote, size, digest = line.split("\\t")
            jobs.append(UploadJob(Path(local), RemotePath(remote), int(size), digest))
        sent = 0
        def die(count):
            global sent
            sent += count
            if sent > 4 * 2**20:
                os.kill(os.getpid(), signal.SIGKILL)
        storage = SftpStorage({sshd_server.host_alias!r}, ssh_config_path=Path(
            {str(sshd_server.ssh_config)!r}))
        storage.upload(jobs, die)
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert temporaries(remote) != []  # the kill left some behind
    with sftp_storage(sshd_server) as storage:
        storage.upload(jobs)
    assert tree(remote) == tree(src)
    assert temporaries(remote) == []
