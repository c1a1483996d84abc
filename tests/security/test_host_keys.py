"""SFTP host keys are checked: an unknown server is refused, with how to trust it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scisync._util.secrets import forget_secrets
from scisync.cli import main
from scisync.sandbox import SandboxServer
from scisync.testing.sshd import SshServer
from tests.e2e.workspace import storage_yaml, write_manifest

pytestmark = pytest.mark.sftp


def _plan(root: Path, token: str) -> str:
    result = CliRunner().invoke(
        main, ["-C", str(root), "plan"], env={"SCICAT_TOKEN": token, "NO_COLOR": "1"}
    )
    forget_secrets()
    assert result.exit_code == 1, result.output
    return result.output


def test_an_unknown_host_key_is_refused_with_how_to_trust_it(
    tmp_path: Path, scicat_sandbox: SandboxServer, sshd_server: SshServer
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    storage = storage_yaml("sftp", tmp_path / "store", sshd_server).replace(
        str(sshd_server.known_hosts), str(empty)
    )
    root = tmp_path / "project"
    root.mkdir()
    write_manifest(root, scicat_sandbox.url, storage, 1)

    output = _plan(root, scicat_sandbox.login("ingestor"))
    assert "host key of [127.0.0.1]" in output and "is not known" in output
    assert "refusing to connect" in output
    assert "ssh-keyscan -p" in output  # says how to trust the host
    assert empty.read_text() == ""  # nothing was trusted behind the user's back
    assert not (tmp_path / "store").exists()


def test_a_changed_host_key_is_refused(
    tmp_path: Path, scicat_sandbox: SandboxServer, sshd_server: SshServer
) -> None:
    known = sshd_server.known_hosts.read_text().split()
    # The same host entry with someone else's key: a man in the middle.
    forged = tmp_path / "known_hosts"
    someone_else = "AAAAC3NzaC1lZDI1NTE5AAAAIBv9JX7Tz5mcOe1BNmfGqzBk+Yp3YyQnyVqSbmG7rV9Q"
    forged.write_text(f"{known[0]} ssh-ed25519 {someone_else}\n")
    storage = storage_yaml("sftp", tmp_path / "store", sshd_server).replace(
        str(sshd_server.known_hosts), str(forged)
    )
    root = tmp_path / "project"
    root.mkdir()
    write_manifest(root, scicat_sandbox.url, storage, 1)
    output = _plan(root, scicat_sandbox.login("ingestor"))
    assert "does not match known_hosts" in output
    assert not (tmp_path / "store").exists()
