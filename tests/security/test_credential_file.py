"""The credential store `scisync login` writes is private, and a readable one is refused."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scisync._util.secrets import forget_secrets
from scisync.cli import main
from scisync.sandbox import SandboxServer


@pytest.fixture
def open_umask() -> Iterator[None]:
    """umask 000: the store must be private by itself, not thanks to a careful umask."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def _run(root: Path, config: Path, *args: str) -> Result:
    result = CliRunner().invoke(
        main,
        ["-C", str(root), *args],
        env={"XDG_CONFIG_HOME": str(config), "PW": "sandbox-ingestor", "NO_COLOR": "1"},
    )
    forget_secrets()
    return result


def test_login_writes_0600_and_a_loose_file_is_refused(
    tmp_path: Path, scicat_sandbox: SandboxServer, open_umask: None
) -> None:
    config = tmp_path / "config"
    root = tmp_path / "project"
    root.mkdir()
    (root / "scisync.yaml").write_text(
        f"version: 1\nproject: p\nscicat: {{url: {scicat_sandbox.url}}}\n"
    )
    logged_in = _run(root, config, "login", "--url", scicat_sandbox.url,
                     "--username", "ingestor", "--password-env", "PW")  # fmt: skip
    assert logged_in.exit_code == 0, logged_in.output
    store = config / "scisync" / "credentials.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    token = next(iter(json.loads(store.read_text())["credentials"].values()))["token"]
    assert token not in logged_in.output and "sandbox-ingestor" not in logged_in.output

    planned = _run(root, config, "plan")  # no $SCICAT_TOKEN: the stored token is used
    assert planned.exit_code == 0, planned.output

    for loose in (0o644, 0o640, 0o604, 0o660):
        os.chmod(store, loose)
        refused = _run(root, config, "plan")
        assert refused.exit_code == 1
        assert "refusing to read the credential store" in refused.output
        assert f"chmod 600 {store}" in refused.output
        assert token not in refused.output
