"""The pytest fixtures scisync ships (scisync.testing): each does what its docstring says."""

from __future__ import annotations

import subprocess

import pytest
import requests

from scisync.sandbox import SandboxServer
from scisync.testing.plugin import SandboxFactory
from scisync.testing.sshd import SshServer


def _datasets(server: SandboxServer, token: str) -> list[str]:
    answer = requests.get(
        server.root_url + "/v4/datasets",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return [d["datasetName"] for d in answer.json()]


def _create(server: SandboxServer, token: str, name: str) -> None:
    body = {
        "type": "raw",
        "datasetName": name,
        "owner": "Ada",
        "ownerGroup": "ingestor",
        "contactEmail": "ada@example.org",
        "creationTime": "2026-01-01T00:00:00Z",
        "sourceFolder": "/data/x",
        "principalInvestigators": ["Ada"],
        "creationLocation": "here",
    }
    answer = requests.post(
        server.root_url + "/v4/datasets",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text


def test_scicat_sandbox_is_running_empty_and_counts_requests(
    scicat_sandbox: SandboxServer,
) -> None:
    assert scicat_sandbox.url.startswith("http://127.0.0.1:")
    assert scicat_sandbox.url.endswith("/api/v3")
    token = scicat_sandbox.login("ingestor")
    scicat_sandbox.reset_stats()
    assert _datasets(scicat_sandbox, token) == []
    assert sum(scicat_sandbox.stats().values()) == 1


def test_the_factory_restarts_a_server_on_the_same_catalogue(
    scicat_sandbox_factory: SandboxFactory,
) -> None:
    first = scicat_sandbox_factory()
    _create(first, first.login("ingestor"), "kept")
    folder = first.data_dir
    first.stop()
    again = scicat_sandbox_factory(data_dir=folder)
    assert _datasets(again, again.login("ingestor")) == ["kept"]


def _ssh(server: SshServer, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", str(server.ssh_config), "-o", "BatchMode=yes", server.host_alias, command],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.sftp
def test_sshd_server_runs_commands_for_the_configured_client(sshd_server: SshServer) -> None:
    result = _ssh(sshd_server, "echo scisync")
    assert result.returncode == 0, result.stderr + sshd_server.log()
    assert result.stdout == "scisync\n"


def test_sshd_sessions_do_not_read_the_accounts_shell_startup_files(
    sshd_server: SshServer,
) -> None:
    # HOME points into the server's own folder, so bash finds no ~/.bashrc of the developer
    # (a stale pyenv lock in one once made every remote command wait 60 s).
    result = _ssh(sshd_server, 'echo "$HOME"; if test -e "$HOME/.bashrc"; then echo has-rc; fi')
    assert result.returncode == 0, result.stderr + sshd_server.log()
    assert result.stdout == f"{sshd_server.workdir}\n"


@pytest.mark.sftp
def test_sshd_sftp_only_refuses_a_shell(sshd_sftp_only: SshServer) -> None:
    result = _ssh(sshd_sftp_only, "echo scisync")
    assert "scisync" not in result.stdout
    sftp = subprocess.run(
        ["sftp", "-F", str(sshd_sftp_only.ssh_config), "-b", "-", sshd_sftp_only.host_alias],
        input=f"ls {sshd_sftp_only.workdir}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sftp.returncode == 0, sftp.stderr + sshd_sftp_only.log()
    assert "sshd.log" in sftp.stdout  # SFTP itself is served
