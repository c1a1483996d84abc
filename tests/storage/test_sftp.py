"""SFTP specifics against a real OpenSSH sshd: host keys, dead connections, server quirks."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scisync._util.hashing import hash_file
from scisync.errors import ChecksumMismatch, StorageError
from scisync.storage.base import Checksum, DownloadJob, RemotePath, UploadJob
from scisync.storage.sftp import SftpStorage, upload_steps
from scisync.storage.sftp import stream as sftp_stream
from scisync.storage.sftp.pipeline import Steps
from tests.storage.backends import sftp_storage
from tests.storage.sshd_faults import KillOnce

if TYPE_CHECKING:
    from scisync.testing.sshd import SshServer


def test_describe_names_user_host_and_port(sshd_server: SshServer) -> None:
    with sftp_storage(sshd_server) as storage:
        assert storage.describe() == (
            f"sftp://{sshd_server.user}@{sshd_server.host_alias}:{sshd_server.port}"
        )


def test_unknown_host_key_is_refused_with_advice(sshd_server: SshServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    storage = sftp_storage(sshd_server, known_hosts=empty)
    with pytest.raises(StorageError) as caught:
        storage.stat(RemotePath("/"))
    text = str(caught.value)
    assert "host key" in text
    assert "not known" in text
    assert "SHA256:" in text  # the fingerprint to check
    assert f"ssh-keyscan -p {sshd_server.port} 127.0.0.1" in text
    assert "storage.sftp.known_hosts" in text  # where a manifest can point instead
    storage.close()


def test_trusting_unknown_hosts_connects_without_writing_known_hosts(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with sftp_storage(sshd_server, known_hosts=empty, trust_unknown_hosts=True) as storage:
        assert storage.stat(RemotePath(tmp_path.as_posix() + "/none")) is None
    assert empty.read_text() == ""


def test_changed_host_key_is_refused(sshd_server: SshServer, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    key_type, key = other.with_suffix(".pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd_server.port} {key_type} {key}\n")
    with pytest.raises(StorageError, match="does not match known_hosts") as caught:
        sftp_storage(sshd_server, known_hosts=known).stat(RemotePath("/"))
    assert "ssh-keygen -R" in str(caught.value)


def test_unauthorised_key_fails_with_advice(sshd_server: SshServer, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    config = tmp_path / "ssh_config"
    config.write_text(
        sshd_server.ssh_config.read_text().replace(str(sshd_server.client_key), str(stranger))
    )
    storage = SftpStorage(sshd_server.host_alias, ssh_config_path=config)
    with pytest.raises(StorageError, match="authentication failed") as caught:
        storage.stat(RemotePath("/"))
    assert "ssh-agent" in str(caught.value)


def test_nothing_listening_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host nowhere\n    HostName 127.0.0.1\n    Port 1\n")
    storage = SftpStorage("nowhere", ssh_config_path=config, connect_timeout=5)
    with pytest.raises(StorageError, match=r"cannot open an SFTP session to 127\.0\.0\.1:1"):
        storage.stat(RemotePath("/"))


def test_proxyjump_through_a_jump_host_checks_its_key_too(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        sshd_server.ssh_config.read_text()
        + f"\nHost behind\n    HostName 127.0.0.1\n    Port {sshd_server.port}\n"
        f"    User {sshd_server.user}\n    IdentityFile {sshd_server.client_key}\n"
        f"    UserKnownHostsFile {sshd_server.known_hosts}\n"
        f"    ProxyJump {sshd_server.host_alias}\n"
    )
    (tmp_path / "a.txt").write_text("through the jump host")
    with SftpStorage("behind", ssh_config_path=config) as storage:
        stat = storage.stat(RemotePath((tmp_path / "a.txt").as_posix()))
        assert stat is not None
        assert stat.size == len("through the jump host")


def test_remote_checksum_discovers_and_remembers_the_shell(
    sshd_server: SshServer, sshd_sftp_only: SshServer, tmp_path: Path
) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"x" * 1000)
    remote = RemotePath(path.as_posix())
    with sftp_storage(sshd_server) as with_shell, sftp_storage(sshd_sftp_only) as sftp_only:
        assert with_shell.server_has_shell is None
        assert with_shell.remote_checksum(remote, "blake3") == hash_file(path, ["blake3"])["blake3"]
        assert with_shell.server_has_shell is True
        assert sftp_only.remote_checksum(remote, "blake3") is None
        assert sftp_only.server_has_shell is False


def test_short_reads_from_the_server_are_completed(
    sshd_server: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sftp-server answers at most 255 KiB per read, so 1 MiB requests come back short.
    monkeypatch.setattr(sftp_stream, "READ_REQUEST_SIZE", 2**20)
    data = os.urandom(5 * 2**20 + 17)
    (tmp_path / "a.bin").write_bytes(data)
    with sftp_storage(sshd_server) as storage:
        job = DownloadJob(RemotePath((tmp_path / "a.bin").as_posix()), tmp_path / "b.bin", None)
        storage.download([job])
    assert (tmp_path / "b.bin").read_bytes() == data


def test_killed_connection_during_download_leaves_no_partial_file(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    data = os.urandom(16 * 2**20)
    (tmp_path / "a.bin").write_bytes(data)
    dest = tmp_path / "dest"
    kill_midway = KillOnce(sshd_server)
    with sftp_storage(sshd_server) as storage:
        job = DownloadJob(RemotePath((tmp_path / "a.bin").as_posix()), dest / "a.bin", len(data))
        with pytest.raises(StorageError, match="cannot download"):
            storage.download([job], kill_midway)
        assert kill_midway.killed
        assert list(dest.iterdir()) == []
        storage.download([job])  # a fresh connection replaces the dead one
    assert (dest / "a.bin").read_bytes() == data


def test_killed_connection_during_upload_leaves_no_temp_file(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(os.urandom(16 * 2**20))
    remote_dir = tmp_path / "server"
    job = UploadJob(
        local,
        RemotePath((remote_dir / "a.bin").as_posix()),
        local.stat().st_size,
        hash_file(local, ["blake3"])["blake3"],
    )
    kill_midway = KillOnce(sshd_server)
    with sftp_storage(sshd_server) as storage:
        with pytest.raises(StorageError, match="cannot upload"):
            storage.upload([job], kill_midway)
        assert kill_midway.killed
        assert list(remote_dir.iterdir()) == []
        storage.upload([job])
    assert (remote_dir / "a.bin").read_bytes() == local.read_bytes()


def test_connections_are_pooled_and_bounded(sshd_server: SshServer, tmp_path: Path) -> None:
    jobs = []
    for i in range(40):
        path = tmp_path / "src" / f"f{i}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(2000))
        remote = RemotePath((tmp_path / "dst" / path.name).as_posix())
        jobs.append(UploadJob(path, remote, 2000, hash_file(path, ["blake3"])["blake3"]))
    logins_before = sshd_server.log().count("Accepted publickey")
    with sftp_storage(sshd_server, connections=3) as storage:
        storage.upload(jobs)
        storage.download(
            [DownloadJob(j.remote, tmp_path / "back" / j.remote.name, 2000) for j in jobs]
        )
    logins = sshd_server.log().count("Accepted publickey") - logins_before
    assert 1 <= logins <= 3
    assert len(list((tmp_path / "back").iterdir())) == 40


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the multi-connection download path kick in for small test files."""
    monkeypatch.setattr(sftp_stream, "SPLIT_THRESHOLD", 2**20)
    monkeypatch.setattr(sftp_stream, "SPLIT_BLOCK", 300_000)


@pytest.mark.usefixtures("small_blocks")
def test_large_file_is_split_across_connections_and_verified_in_order(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    data = os.urandom(5 * 2**20 + 12345)
    (tmp_path / "a.bin").write_bytes(data)
    expected = Checksum("sha256", hashlib.sha256(data).hexdigest())
    logins_before = sshd_server.log().count("Accepted publickey")
    with sftp_storage(sshd_server, connections=3) as storage:
        job = DownloadJob(
            RemotePath((tmp_path / "a.bin").as_posix()), tmp_path / "b.bin", len(data), (expected,)
        )
        storage.download([job])
    assert (tmp_path / "b.bin").read_bytes() == data
    assert sshd_server.log().count("Accepted publickey") - logins_before == 3


@pytest.mark.usefixtures("small_blocks")
def test_split_download_detects_corruption_and_leaves_nothing(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    data = bytearray(os.urandom(3 * 2**20))
    expected = Checksum("sha256", hashlib.sha256(data).hexdigest())
    data[2 * 2**20] ^= 1
    (tmp_path / "a.bin").write_bytes(bytes(data))
    dest = tmp_path / "dest"
    with sftp_storage(sshd_server, connections=3) as storage:
        job = DownloadJob(
            RemotePath((tmp_path / "a.bin").as_posix()), dest / "a.bin", len(data), (expected,)
        )
        with pytest.raises(ChecksumMismatch):
            storage.download([job])
    assert list(dest.iterdir()) == []


@pytest.mark.usefixtures("small_blocks")
def test_split_download_interrupted_or_killed_leaves_nothing(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    data = os.urandom(6 * 2**20)
    (tmp_path / "a.bin").write_bytes(data)
    dest = tmp_path / "dest"
    job = DownloadJob(RemotePath((tmp_path / "a.bin").as_posix()), dest / "a.bin", len(data))
    seen = 0

    def boom(count: int) -> None:
        nonlocal seen
        seen += count
        if seen > 2 * 2**20:
            raise RuntimeError("injected")

    kill_midway = KillOnce(sshd_server)
    with sftp_storage(sshd_server, connections=3) as storage:
        with pytest.raises(RuntimeError, match="injected"):
            storage.download([job], boom)
        assert list(dest.iterdir()) == []
        with pytest.raises(StorageError):
            storage.download([job], kill_midway)
        assert kill_midway.killed
        assert list(dest.iterdir()) == []
        storage.download([job])
    assert (dest / "a.bin").read_bytes() == data


def test_upload_detects_a_local_file_changed_since_hashing(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(os.urandom(3 * 2**20))
    job = UploadJob(
        local,
        RemotePath((tmp_path / "server" / "a.bin").as_posix()),
        local.stat().st_size,
        hash_file(local, ["blake3"])["blake3"],
    )
    local.write_bytes(os.urandom(3 * 2**20))
    with (
        sftp_storage(sshd_server, connections=3) as storage,
        pytest.raises(StorageError, match="changed since it was hashed"),
    ):
        storage.upload([job])
    assert list((tmp_path / "server").iterdir()) == []


@pytest.mark.parametrize("size", [100_000, 3 * 2**20])  # batch check / inline check
def test_upload_corrupted_on_the_server_is_caught_before_rename(
    sshd_server: SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    monkeypatch.setattr(sftp_stream, "SPLIT_THRESHOLD", 2**20)
    local = tmp_path / "a.bin"
    local.write_bytes(os.urandom(size))
    server = tmp_path / "server"
    job = UploadJob(
        local,
        RemotePath((server / "a.bin").as_posix()),
        size,
        hash_file(local, ["blake3"])["blake3"],
    )
    storage = sftp_storage(sshd_server)

    def corrupt(tmp: str) -> None:
        with open(tmp, "r+b") as remote_copy:  # the "server" is this machine
            remote_copy.seek(size // 2)
            remote_copy.write(b"\x00corrupt\x00")

    send = storage._uploader._send  # a large file: one connection, checked right after
    send_pipelined = upload_steps.Sender.send  # small files: many in flight at once

    def send_then_corrupt(*args: object, **kwargs: object) -> str:
        tmp = send(*args, **kwargs)  # type: ignore[arg-type]
        corrupt(tmp)
        return tmp

    def send_pipelined_then_corrupt(
        self: upload_steps.Sender, job: UploadJob, tmp: str
    ) -> Steps[None]:
        tell = self.on_sent  # the server's b3sum hears of the file once it is written

        def corrupt_then_tell(path: str) -> None:
            corrupt(path)
            if tell is not None:
                tell(path)

        self.on_sent = corrupt_then_tell
        yield from send_pipelined(self, job, tmp)

    monkeypatch.setattr(upload_steps.Sender, "send", send_pipelined_then_corrupt)
    monkeypatch.setattr(storage._uploader, "_send", send_then_corrupt)
    with storage, pytest.raises(ChecksumMismatch, match="differs from the local file"):
        storage.upload([job])
    assert list(server.iterdir()) == []
