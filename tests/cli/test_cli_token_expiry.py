"""A SciCat token near or past its expiry, at every command that uses one.

The rule (``scisync.scicat.auth.usable_token`` and ``expiring``) is checked as a table, then
through the real CLI against the sandbox, which issues tokens of any lifetime
(``SandboxServer.login(..., expires_in=)``): a token that expires within EXPIRES_SOON is
announced once on stderr and the command goes on; an expired one stops the command before
anything is sent or written, naming where it came from and what to do.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import requests

from scisync._util.secrets import forget_secrets
from scisync.errors import AuthError
from scisync.render.progress import token_expiry_line
from scisync.sandbox import SandboxServer
from scisync.scicat.auth import EXPIRES_SOON, ExpiringToken, expiring, usable_token
from tests.cli_process import run_scisync


def _jwt(claims: dict[str, object]) -> str:
    return jwt.encode(claims, "not-scicats-secret-but-32-bytes-long", algorithm="HS256")


def _expiring_in(delta: timedelta) -> dict[str, object]:
    return {"exp": int((datetime.now(tz=UTC) + delta).timestamp())}


# The token is made when the case runs (not at collection), so the margins hold.
RULE_CASES = {
    "five hours left": (lambda: _jwt(_expiring_in(timedelta(hours=5))), "quiet"),
    "just over the threshold": (
        lambda: _jwt(_expiring_in(EXPIRES_SOON + timedelta(minutes=2))),
        "quiet",
    ),
    "just under the threshold": (
        lambda: _jwt(_expiring_in(EXPIRES_SOON - timedelta(minutes=2))),
        "warn",
    ),
    "thirty seconds left": (lambda: _jwt(_expiring_in(timedelta(seconds=30))), "warn"),
    "expired five seconds ago": (lambda: _jwt(_expiring_in(-timedelta(seconds=5))), "refuse"),
    "expired last year": (lambda: _jwt(_expiring_in(-timedelta(days=400))), "refuse"),
    "a JWT without exp": (lambda: _jwt({"sub": "no expiry claim"}), "quiet"),
    "exp not a number": (lambda: _jwt({"exp": "tomorrow"}), "quiet"),
    "not a JWT": (lambda: "an-opaque-access-token-not-a-jwt", "quiet"),
    "a JWT-looking garble": (lambda: "eyJub3QiOiJqc29uIn0.garbage.sig", "quiet"),
}


@pytest.mark.parametrize(("make", "outcome"), RULE_CASES.values(), ids=RULE_CASES.keys())
def test_the_expiry_rule(make: Callable[[], str], outcome: str) -> None:
    from scisync.scicat.auth import token_expiry

    token = make()
    source = "$FACILITY_TOKEN"
    if outcome == "refuse":
        with pytest.raises(AuthError) as raised:
            usable_token(token, source, token_expiry(token), "FACILITY_TOKEN")
        text = str(raised.value)
        assert "expired at" in text and "$FACILITY_TOKEN" in text and "scisync login" in text
        assert token not in text
        return
    resolved = usable_token(token, source, token_expiry(token), "FACILITY_TOKEN")
    announced = expiring(resolved, "FACILITY_TOKEN")
    assert (announced is not None) == (outcome == "warn")
    assert token not in repr(resolved)


def test_the_warning_says_when_and_what_to_do() -> None:
    when = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
    line = token_expiry_line(
        ExpiringToken("$SCICAT_TOKEN", when, "SCICAT_TOKEN"), now=when - timedelta(minutes=7)
    )
    assert "expires in 7 min, at 2026-12-03T05:00:00+00:00" in line
    assert "scisync login" in line and "$SCICAT_TOKEN" in line


RAW = {
    "type": "raw",
    "datasetName": "made by hand",
    "owner": "Grace Hopper",
    "ownerGroup": "ingestor",
    "contactEmail": "grace@example.org",
    "creationTime": "2026-02-03T04:05:06Z",
    "sourceFolder": "/data/run-7",
    "principalInvestigators": ["Grace Hopper"],
    "creationLocation": "Beamline 2",
}

MANIFEST = """\
version: 1
project: expiry-test
scicat:
  url: {url}
storage:
  local:
    root: {store}
datasets:
  - key: reduced
    type: derived
    owner: Ada Lovelace
    owner_group: ingestor
    contact_email: ada@example.org
    creation_time: 2026-03-01T12:00:00Z
    investigator: Ada Lovelace
    used_software: [reduce@1]
    input_datasets: []
"""


@pytest.fixture
def project(tmp_path: Path, scicat_sandbox: SandboxServer) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "scisync.yaml").write_text(
        MANIFEST.format(url=scicat_sandbox.url, store=tmp_path / "store")
    )
    yield root
    forget_secrets()


def _run(root: Path, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_scisync(root, token, *args, XDG_CONFIG_HOME=str(root / "no-config"))


COMMANDS = [
    ("plan",),
    ("apply", "--auto-approve"),
    ("pull",),
    ("import", "PID", "--key", "adopted"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_token_that_expires_soon_is_announced_once_and_the_command_runs(
    project: Path, scicat_sandbox: SandboxServer, command: tuple[str, ...]
) -> None:
    token = scicat_sandbox.login("ingestor", expires_in=10 * 60)
    args = _with_pid(scicat_sandbox, command)
    result = _run(project, token, *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("Warning: the SciCat token") == 1, result.stderr
    assert re.search(r"from \$SCICAT_TOKEN expires in (10|[1-9]) min, at 20", result.stderr)
    assert "scisync login" in result.stderr
    assert token not in result.stdout + result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_expired_token_stops_the_command_before_anything_is_sent(
    project: Path, scicat_sandbox: SandboxServer, command: tuple[str, ...]
) -> None:
    token = scicat_sandbox.login("ingestor", expires_in=-60)
    args = _with_pid(scicat_sandbox, command)
    manifest_before = (project / "scisync.yaml").read_text()
    scicat_sandbox.reset_stats()
    result = _run(project, token, *args)
    assert result.returncode == 1, result.stderr
    assert "your SciCat token expired at" in result.stderr
    assert "$SCICAT_TOKEN" in result.stderr and "scisync login" in result.stderr
    assert "internal error" not in result.stderr
    assert token not in result.stdout + result.stderr
    assert scicat_sandbox.stats() == {}  # not one request, not even whoami
    assert (project / "scisync.yaml").read_text() == manifest_before
    assert not (project / "scisync.lock").exists()
    assert not (project / ".scisync" / "journal.jsonl").exists()


def test_a_fresh_token_is_not_announced(project: Path, scicat_sandbox: SandboxServer) -> None:
    token = scicat_sandbox.login("ingestor", expires_in=6 * 3600)
    result = _run(project, token, "plan")
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr


def _with_pid(sandbox: SandboxServer, command: tuple[str, ...]) -> tuple[str, ...]:
    if "PID" not in command:
        return command
    answer = requests.post(
        sandbox.root_url + "/v4/datasets",
        json=RAW,
        headers={"Authorization": f"Bearer {sandbox.login('ingestor')}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    pid = str(answer.json()["pid"])
    return tuple(pid if part == "PID" else part for part in command)
