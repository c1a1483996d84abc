"""Hostile SSH servers: opening SFTP storage ends in bounded time with one StorageError.

A raw TCP server on 127.0.0.1 plays the broken or hostile peer (silent, garbage instead
of a banner, a dripped banner, a banner then silence, an immediate close); the real
:class:`SftpStorage` (paramiko underneath) connects to it.  The time bounds are safety
nets against hangs, not performance claims.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from click.testing import CliRunner

from scisync._util.secrets import forget_secrets
from scisync.cli import main
from scisync.errors import ScisyncError, StorageError
from scisync.storage.base import RemotePath
from scisync.storage.sftp import SftpStorage
from scisync.testing.hostile import HostileScicat

Peer = Callable[[socket.socket, threading.Event], None]


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(60)


def _garbage(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\x1b]0;pwned\x07\r\n\r\n")


def _close(conn: socket.socket, stop: threading.Event) -> None:
    conn.close()


def _drip(conn: socket.socket, stop: threading.Event) -> None:
    while not stop.is_set():
        conn.sendall(b"S")
        stop.wait(0.3)


def _banner_then_silence(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
    stop.wait(60)


class RawPeer:
    """Accepts TCP connections on 127.0.0.1 and runs ``behave`` on each; stops them all."""

    def __init__(self, behave: Peer) -> None:
        self.behave = behave
        self.stop = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):  # OSError: the client hung up, as expected
            self.behave(conn, self.stop)

    def __enter__(self) -> RawPeer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    forget_secrets()


@pytest.fixture
def ssh_config(tmp_path: Path) -> Path:
    """An empty ssh config and known_hosts, so the user's own never apply."""
    (tmp_path / "known_hosts").write_text("")
    config = tmp_path / "ssh_config"
    config.write_text("")
    return config


PEERS = [
    ("silent", _silent),
    ("garbage instead of a banner", _garbage),
    ("immediate close", _close),
    ("dripped banner", _drip),
    ("banner then silence", _banner_then_silence),
]


@pytest.mark.parametrize("behave", [p[1] for p in PEERS], ids=[p[0] for p in PEERS])
def test_a_hostile_ssh_peer_ends_in_one_storage_error(
    behave: Peer, ssh_config: Path, tmp_path: Path
) -> None:
    with RawPeer(behave) as peer:
        storage = SftpStorage(
            "127.0.0.1",
            peer.port,
            "nobody",
            connections=1,
            ssh_config_path=ssh_config,
            known_hosts=tmp_path / "known_hosts",
            connect_timeout=2,
            io_timeout=2,
        )
        started = time.monotonic()
        with pytest.raises(ScisyncError) as raised:
            storage.stat(RemotePath("/data/x"))
        elapsed = time.monotonic() - started
        storage.close()
    assert isinstance(raised.value, StorageError)
    text = str(raised.value)
    assert f"127.0.0.1:{peer.port}" in text
    assert elapsed < 30  # a hang, not slowness, would pass this
    assert peer.connections >= 1


def test_the_cli_reports_a_silent_ssh_server_once(ssh_config: Path, tmp_path: Path) -> None:
    files = [{"path": "a.txt", "size": 3, "chk": "x", "time": "2026-01-01T00:00:00Z"}]
    record = {
        "pid": "p/1",
        "type": "raw",
        "sourceFolder": "/data/ds",
        "origdatablocks": [{"_id": "b", "chkAlg": "sha256", "dataFileList": files}],
    }
    project = tmp_path / "project"
    project.mkdir()
    with HostileScicat(datasets=[record]) as scicat, RawPeer(_silent) as peer:
        sftp = {
            "host": "127.0.0.1",
            "port": peer.port,
            "user": "nobody",
            "root": "/data",
            "ssh_config": str(ssh_config),
            "known_hosts": str(tmp_path / "known_hosts"),
        }
        (project / "scisync.yaml").write_text(
            "version: 1\nproject: p\n"
            f"scicat: {{url: {scicat.url}}}\n"
            f"storage: {{sftp: {json.dumps(sftp)}}}\n"
            "downloads:\n  - key: d\n    dataset: {pid: p/1}\n    target: data\n"
        )
        started = time.monotonic()
        result = CliRunner().invoke(
            main, ["-C", str(project), "pull"], env={"SCICAT_TOKEN": "t", "NO_COLOR": "1"}
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert result.output.count("Error:") == 1
    assert f"127.0.0.1:{peer.port}" in result.output
    assert "within the connect timeout" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert not (project / "data" / "a.txt").exists()
    assert elapsed < 90
