"""The SFTP minimum-throughput rule (storage/sftp/stall.py): a trickling server is cut off.

First the rule itself as a table (a fake clock and byte counter), then a real OpenSSH sshd
behind a TCP proxy on 127.0.0.1 that forwards at full speed until a test throttles one
direction to a trickle: the only fault injection, below SSH.  Downloads and uploads end
with one StorageError naming the file, the host and the limit, within the window plus a
tick; at full speed the same tight rule lets transfers through.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko
import pytest

from scisync._util.hashing import hash_file
from scisync._util.limits import SSH_PACKET_BYTES, SshLimits
from scisync.errors import StorageError
from scisync.storage.base import DownloadJob, RemotePath, UploadJob
from scisync.storage.sftp import SftpStorage
from scisync.storage.sftp import stream as sftp_stream
from scisync.storage.sftp.stall import StallWatch, TransferStalled

if TYPE_CHECKING:
    from scisync.testing.sshd import SshServer

RULE = SshLimits(min_transfer_rate=1000 * 1024, stall_window=1.0)  # 1000 KiB in any 1 s


@dataclass(frozen=True)
class Step:
    at: float  # seconds
    moved: int  # paramiko's counter at that moment
    waiting: bool  # a thread waits on the server during the tick before
    stalled: bool  # what the tick must decide


def _case(*steps: tuple[float, int, bool, bool]) -> list[Step]:
    return [Step(*s) for s in steps]


MB = 1024 * 1024
CASES = {
    "idle connection is never judged": _case(
        (0, 0, False, False), (1, 0, False, False), (5, 0, False, False)
    ),
    "waiting with data flowing": _case(
        (0, 0, True, False), (0.5, MB, True, False), (1.0, 2 * MB, True, False),
        (2.0, 3 * MB, True, False),
    ),
    "trickle for a whole window": _case(
        (0, 0, True, False), (0.5, 10, True, False), (1.0, 20, True, True)
    ),
    "slow but above the rate": _case(
        (0, 0, True, False), (1.0, 1001 * 1024, True, False), (2.0, 2002 * 1024, True, False)
    ),
    "fast, then a trickle": _case(
        (0, 0, True, False), (1.0, 5 * MB, True, False), (1.5, 5 * MB + 10, True, False),
        (2.0, 5 * MB + 20, True, True),
    ),
    "a pause in waiting resets the window": _case(
        (0, 0, True, False), (0.9, 0, False, False), (1.5, 0, True, False),
        (2.4, 0, True, False), (2.5, 0, True, True),
    ),
    "a rekey resets paramiko's counter": _case(
        (0, 900 * MB, True, False), (0.5, 1000 * MB, True, False), (1.0, 2 * MB, True, False),
        (1.5, 3 * MB, True, False),
    ),
    "stalled only once": _case(
        (0, 0, True, False), (1.0, 0, True, True), (2.0, 0, True, False)
    ),
}  # fmt: skip


@pytest.mark.parametrize("steps", CASES.values(), ids=CASES.keys())
def test_the_stall_rule(steps: list[Step]) -> None:
    counter = [0]
    closed: list[float] = []
    watch = StallWatch(RULE, lambda: counter[0], lambda: closed.append(1))
    for step in steps:
        counter[0] = step.moved
        if step.waiting:
            with watch.waiting():
                pass
        assert watch.tick(step.at) is step.stalled, step
    assert len(closed) == (1 if any(s.stalled for s in steps) else 0)
    assert (watch.error() is not None) == bool(closed)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_transfer_rate": 0}, "min_transfer_rate must be a positive number"),
        ({"stall_window": -1}, "stall_window must be a positive number"),
        ({"stall_window": float("nan")}, "stall_window must be a positive number"),
        ({"min_transfer_rate": 1, "stall_window": 1}, "at least two SSH packets"),
    ],
)
def test_limits_that_cannot_work_are_refused(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SshLimits(**changes)  # type: ignore[arg-type]


def test_the_packet_size_the_rule_assumes_is_the_one_scisync_accepts() -> None:
    assert SSH_PACKET_BYTES == sftp_stream.MAX_PACKET_SIZE
    defaults = SshLimits()
    assert defaults.min_transfer_rate * defaults.stall_window >= 2 * SSH_PACKET_BYTES


def test_the_message_names_the_rate_and_window() -> None:
    text = str(TransferStalled(SshLimits()))
    assert "less than 10 KiB/s for 60 s" in text


# -- against a real sshd, through a throttling proxy ------------------------------------


class ThrottlingProxy:
    """TCP on 127.0.0.1 to the sshd: full speed, until ``throttle(direction, bytes/s)``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.rates: dict[str, float | None] = {"down": None, "up": None}
        self.stop = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def throttle(self, direction: str, rate: float) -> None:
        self.rates[direction] = rate

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.sockets += [client, upstream]
            for src, dst, direction in ((client, upstream, "up"), (upstream, client, "down")):
                threading.Thread(target=self._pump, args=(src, dst, direction), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        with suppress(OSError):
            while not self.stop.is_set():
                rate = self.rates[direction]
                data = src.recv(65536 if rate is None else max(1, int(rate / 10)))
                if not data:
                    break
                dst.sendall(data)
                if rate is not None:
                    time.sleep(0.1)
        with suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.stop.set()
        for sock in [self.server, *self.sockets]:
            with suppress(OSError):
                sock.close()


@pytest.fixture
def proxy(sshd_server: SshServer, tmp_path: Path) -> Iterator[tuple[ThrottlingProxy, Path]]:
    """The proxy, and an ssh config whose host ``slow`` goes through it (same host key)."""
    proxy = ThrottlingProxy(sshd_server.port)
    key_type, key = sshd_server.known_hosts.read_text().split()[1:3]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{proxy.port} {key_type} {key}\n")
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host slow\n    HostName 127.0.0.1\n    Port {proxy.port}\n"
        f"    User {sshd_server.user}\n    IdentityFile {sshd_server.client_key}\n"
        f"    IdentitiesOnly yes\n    UserKnownHostsFile {known_hosts}\n"
    )
    yield proxy, config
    proxy.close()


TIGHT = SshLimits(min_transfer_rate=600 * 1024, stall_window=2.0, io_timeout=60)


def _storage(config: Path) -> SftpStorage:
    return SftpStorage("slow", ssh_config_path=config, connections=1, limits=TIGHT)


def _stalled(error: StorageError, remote: RemotePath, proxy: ThrottlingProxy) -> None:
    text = str(error)
    assert "the transfer stalled: the server moved less than 600 KiB/s for 2 s" in text
    assert f"slow:{proxy.port}{remote}" in text  # the host and the file
    assert "re-run to resume" in text
    assert "internal error" not in text


def test_a_trickled_download_is_cut_off_naming_file_and_host(
    proxy: tuple[ThrottlingProxy, Path], tmp_path: Path
) -> None:
    throttle, config = proxy
    remote = RemotePath((tmp_path / "big.bin").as_posix())
    Path(str(remote)).write_bytes(os.urandom(8 * 2**20))
    dest = tmp_path / "dest"
    dest.mkdir()
    with _storage(config) as storage:
        assert storage.stat(remote) is not None  # connected at full speed
        throttle.throttle("down", 200)  # bytes per second
        started = time.monotonic()
        with pytest.raises(StorageError) as caught:
            storage.download([DownloadJob(remote, dest / "big.bin", 8 * 2**20)])
        elapsed = time.monotonic() - started
    _stalled(caught.value, remote, throttle)
    assert 2.0 <= elapsed < 20, elapsed  # the window, plus a tick and the cleanup
    assert list(dest.iterdir()) == []  # no partial file, no temporary


def test_a_trickled_upload_is_cut_off_and_leaves_nothing_on_the_server(
    proxy: tuple[ThrottlingProxy, Path], tmp_path: Path
) -> None:
    throttle, config = proxy
    local = tmp_path / "up.bin"
    local.write_bytes(os.urandom(8 * 2**20))
    folder = tmp_path / "remote"
    folder.mkdir()
    remote = RemotePath((folder / "up.bin").as_posix())
    job = UploadJob(local, remote, local.stat().st_size, hash_file(local, ["blake3"])["blake3"])
    with _storage(config) as storage:
        assert storage.stat(remote) is None  # connected at full speed
        throttle.throttle("up", 200)
        started = time.monotonic()
        with pytest.raises(StorageError) as caught:
            storage.upload([job])
        elapsed = time.monotonic() - started
    _stalled(caught.value, remote, throttle)
    assert 2.0 <= elapsed < 20, elapsed
    throttle.rates["up"] = None
    deadline = time.monotonic() + 10  # the server removes what the closed session left
    while list(folder.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (folder / "up.bin").exists()


def test_at_full_speed_the_same_rule_lets_transfers_through(
    proxy: tuple[ThrottlingProxy, Path], tmp_path: Path
) -> None:
    _throttle, config = proxy
    data = os.urandom(8 * 2**20)
    local = tmp_path / "a.bin"
    local.write_bytes(data)
    remote = RemotePath((tmp_path / "copy.bin").as_posix())
    job = UploadJob(local, remote, len(data), hash_file(local, ["blake3"])["blake3"])
    with _storage(config) as storage:
        storage.upload([job])
        time.sleep(TIGHT.stall_window + 1)  # idle in the pool: never judged
        storage.download([DownloadJob(remote, tmp_path / "back.bin", len(data))])
    assert (tmp_path / "back.bin").read_bytes() == data


def test_paramiko_still_counts_the_bytes_the_rule_reads(sshd_server: SshServer) -> None:
    """The rule reads paramiko's per-connection byte counters (private); pin that they move."""
    from scisync.storage.sftp.stall import transport_bytes

    storage = SftpStorage(sshd_server.host_alias, ssh_config_path=sshd_server.ssh_config)
    with storage, storage._server.pool.lease() as session:
        transport: paramiko.Transport = session.transport
        before = transport_bytes(transport)
        session.sftp.listdir("/")
        assert transport_bytes(transport) > before
        assert session.sftp.stall_watch is not None
