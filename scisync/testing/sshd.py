"""A real OpenSSH sshd on 127.0.0.1 with throwaway keys, for tests and benchmarks.

:func:`start_sshd` starts ``/usr/sbin/sshd -D -e`` on a free loopback port with a fresh
host key and client key, and writes a ``known_hosts`` file and an ssh config so that a
client connects with host key checking ON.  Two flavours: with a shell (exec works, so
``sha256sum`` can run on the server) and SFTP-only (``ForceCommand internal-sftp``, like
many facility file servers).  The server runs as the current user on this machine, so a
remote path is also a local path: tests can create and inspect "remote" files directly.

Fixtures: ``sshd_server`` and ``sshd_sftp_only`` (session scope).  Use them with
``pytest_plugins = ["scisync.testing.sshd"]``.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
HOST_ALIAS = "scisync-test-sshd"
_START_TIMEOUT = 15.0


@dataclass
class SshServer:
    """A running test sshd and everything a client needs to reach it."""

    host_alias: str
    hostname: str
    port: int
    user: str
    client_key: Path
    known_hosts: Path
    ssh_config: Path
    sftp_only: bool
    workdir: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        """Terminate sshd (and so every session it serves); safe to call twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        """What sshd wrote to stderr (``-e``), for failure messages."""
        try:
            return (self.workdir / "sshd.log").read_text(errors="replace")
        except OSError:
            return ""


def sshd_available() -> bool:
    return SSHD.exists() and shutil.which(SSH_KEYGEN) is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


def _wait_for_banner(port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def write_sshd_config(workdir: Path, port: int, *, sftp_only: bool) -> Path:
    lines = [
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {workdir / 'host_ed25519_key'}",
        f"PidFile {workdir / 'sshd.pid'}",
        f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
        "StrictModes no",
        "PermitRootLogin yes",
        "UsePAM no",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        # Local forwarding lets a test reach this server through itself with ProxyJump.
        f"AllowTcpForwarding {'no' if sftp_only else 'local'}",
        "X11Forwarding no",
        "PrintMotd no",
        "LogLevel INFO",
        "Subsystem sftp internal-sftp",
        # Session shells get HOME here, not the account's home: bash run by sshd reads
        # ~/.bashrc, and a developer's rc file (pyenv rehash, with a lock that a killed
        # session can leave behind) made every remote command wait 60 s. Tests must not
        # depend on whose machine they run on.
        f"SetEnv HOME={workdir}",
    ]
    if sftp_only:
        lines.append("ForceCommand internal-sftp")
    config = workdir / "sshd_config"
    config.write_text("\n".join(lines) + "\n")
    return config


def start_sshd(workdir: Path, *, sftp_only: bool = False) -> SshServer:
    """Start a throwaway sshd whose files live in *workdir*; call ``stop()`` when done."""
    if not sshd_available():
        raise RuntimeError(f"{SSHD} or ssh-keygen not found: install Debian's openssh-server")
    workdir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # sshd running as root insists on its privilege separation folder.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_key = workdir / "host_ed25519_key"
    client_key = workdir / "client_key"
    _keygen(host_key, "scisync-test-host")
    _keygen(client_key, "scisync-test-client")
    shutil.copyfile(client_key.with_suffix(".pub"), workdir / "authorized_keys")
    user = getpass.getuser()
    port, process = _launch(workdir, sftp_only)
    key_type, key_data = (host_key.with_suffix(".pub")).read_text().split()[:2]
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {key_type} {key_data}\n")
    ssh_config = workdir / "ssh_config"
    ssh_config.write_text(
        f"Host {HOST_ALIAS}\n"
        f"    HostName 127.0.0.1\n"
        f"    Port {port}\n"
        f"    User {user}\n"
        f"    IdentityFile {client_key}\n"
        f"    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {known_hosts}\n"
        f"    StrictHostKeyChecking yes\n"
        f"    BatchMode yes\n"
    )
    return SshServer(
        host_alias=HOST_ALIAS,
        hostname="127.0.0.1",
        port=port,
        user=user,
        client_key=client_key,
        known_hosts=known_hosts,
        ssh_config=ssh_config,
        sftp_only=sftp_only,
        workdir=workdir,
        process=process,
    )


def _launch(workdir: Path, sftp_only: bool) -> tuple[int, subprocess.Popen[bytes]]:
    """Start sshd on a free port, retrying a few times (another process may grab the port)."""
    last_log = ""
    for _attempt in range(5):
        port = _free_port()
        config = write_sshd_config(workdir, port, sftp_only=sftp_only)
        log_path = workdir / "sshd.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        if _wait_for_banner(port, process):
            return port, process
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)
        last_log = log_path.read_text(errors="replace")
    raise RuntimeError(f"sshd did not start; its log:\n{last_log}")


def _server_fixture(sftp_only: bool) -> Iterator[SshServer]:
    if not sshd_available():
        pytest.skip(f"{SSHD} not found: install openssh-server to run the SFTP tests")
    workdir = Path(tempfile.mkdtemp(prefix="scisync-sshd-"))
    server = start_sshd(workdir, sftp_only=sftp_only)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[SshServer]:
    """A real OpenSSH sshd with a shell (exec works), on 127.0.0.1, host keys checked."""
    yield from _server_fixture(sftp_only=False)


@pytest.fixture(scope="session")
def sshd_sftp_only() -> Iterator[SshServer]:
    """A real OpenSSH sshd that only speaks SFTP (``ForceCommand internal-sftp``)."""
    yield from _server_fixture(sftp_only=True)
