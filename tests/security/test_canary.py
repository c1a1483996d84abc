"""A canary token: whatever scisync does, successful or failing, the token never shows.

The token SciCat gave us is the canary.  A whole CLI session runs in real subprocesses
(so stdout, stderr and tracebacks are what a CI log would hold), including failures: a
403 from the server, an unknown token, an expired token, a manifest with a token pasted
into it, the token echoed back by the server inside a dataset's metadata, and an
unexpected exception whose text carries the Authorization header, with and without
--debug.  Then every file under the project folder is searched for the canary too.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import requests

from scisync.sandbox import SandboxServer
from tests.e2e.workspace import storage_yaml, write_manifest

REPO = Path(__file__).parents[2]

# Fault injection below HTTP: the transport raises an error quoting the request's headers.
SITECUSTOMIZE = textwrap.dedent(
    """\
    import os
    if os.environ.get("CANARY_FAULT"):
        import requests.adapters

        def send(self, request, *args, **kwargs):
            raise ValueError(f"transport exploded; headers were {dict(request.headers)}")

        requests.adapters.HTTPAdapter.send = send
    """
)


class Session:
    """Runs `python -m scisync` in a project folder and keeps every byte it printed."""

    def __init__(self, root: Path, extra_path: Path) -> None:
        self.root = root
        self.extra_path = extra_path
        self.outputs: list[tuple[list[str], str]] = []

    def run(self, token: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SCICAT_", "SCISYNC_"))},
            "PYTHONPATH": f"{self.extra_path}{os.pathsep}{REPO}",
            "NO_COLOR": "1",
            "SCICAT_TOKEN": token,
            **env,
        }
        done = subprocess.run(
            [sys.executable, "-m", "scisync", *args],
            cwd=self.root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.outputs.append((list(args), done.stdout + "\n" + done.stderr))
        return done


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _expired_jwt() -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"exp": 1_000_000, "canary": secrets.token_hex(8)}).encode())
    return f"{header}.{payload}.{_b64(secrets.token_bytes(32))}"


def _fragments(token: str) -> list[str]:
    """The token, and its signature alone (a truncated echo would still hold that)."""
    parts = [token]
    if token.count(".") == 2:
        parts.append(token.rsplit(".", 1)[1])
    return parts


def test_the_token_never_appears_in_output_or_files(
    tmp_path: Path, scicat_sandbox: SandboxServer
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    extra = tmp_path / "inject"
    extra.mkdir()
    (extra / "sitecustomize.py").write_text(SITECUSTOMIZE)
    download = textwrap.dedent(
        """\
        downloads:
          - key: frames
            dataset: raw-1
            target: downloaded/frames
        """
    )
    write_manifest(root, scicat_sandbox.url, storage_yaml("local", tmp_path / "store"), 1)
    canary = scicat_sandbox.login("ingestor")
    other_user = scicat_sandbox.login("user1")
    unknown = "scisync-canary-" + secrets.token_hex(16)
    expired = _expired_jwt()
    every_secret = [canary, other_user, unknown, expired]
    session = Session(root, extra)

    def ok(*args: str, token: str = canary, code: int = 0) -> str:
        done = session.run(token, *args)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done.stdout + done.stderr

    def fails(*args: str, token: str = canary, **env: str) -> str:
        done = session.run(token, *args, **env)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        return done.stdout + done.stderr  # a plan's conflicts are on stdout, with the plan

    # A normal session.
    ok("validate")
    ok("validate", "--json")
    ok("plan")
    ok("plan", "--json")
    ok("apply", "--auto-approve")
    ok("--debug", "plan", "--detailed-exitcode")
    # (a download of a dataset created in the same apply is planned before its pid exists,
    # so the download joins once the dataset is there)
    with (root / "scisync.yaml").open("a") as manifest:
        manifest.write(download)
    ok("plan", "--out", "plan.json")
    ok("apply", "plan.json")
    ok("apply", "--auto-approve", "--json")
    ok("pull")
    ok("pull", "--locked")

    # The server hands the token back inside a dataset: shown as drift, then restored.
    pid = json.loads((root / "scisync.lock").read_text())["datasets"]["raw-1"]["pid"]
    patched = requests.patch(
        f"{scicat_sandbox.root_url}/v4/datasets/{quote(pid, safe='')}",
        json={"description": f"pasted by mistake: Bearer {canary}"},
        headers={"Authorization": f"Bearer {canary}"},
        timeout=30,
    )
    assert patched.ok, patched.text
    drift = ok("plan", "--detailed-exitcode", code=2)
    assert "pasted by mistake" in drift  # the value is shown, masked
    ok("plan", "--json", "--detailed-exitcode", code=2)
    ok("apply", "--auto-approve")

    # Failing runs.
    assert "not in SciCat" in fails("--debug", "apply", "--auto-approve", token=other_user)
    # A 403 from the server: another account creating datasets for a group it is not in.
    elsewhere = tmp_path / "other-account"
    elsewhere.mkdir()
    write_manifest(elsewhere, scicat_sandbox.url, storage_yaml("local", tmp_path / "s2"), 1)
    refused = Session(elsewhere, extra)
    denied = refused.run(other_user, "--debug", "apply", "--auto-approve")
    assert denied.returncode == 1 and "403" in denied.stderr, denied.stderr
    session.outputs += refused.outputs
    assert "token" in fails("plan", token=unknown).lower()
    assert "expired" in fails("plan", token=expired)
    assert "expired" in fails("--debug", "pull", token=expired)
    good_manifest = (root / "scisync.yaml").read_text()
    (root / "scisync.yaml").write_text(
        good_manifest.replace("Run 1 as measured.", f"Run 1 as measured. {canary}")
    )
    assert "looks like a token" in fails("validate")
    assert "looks like a token" in fails("--debug", "plan")
    (root / "scisync.yaml").write_text(good_manifest + "bogus: 1\n")
    assert "unknown key 'bogus'" in fails("plan")
    (root / "scisync.yaml").write_text(good_manifest)
    crashed = fails("--debug", "plan", CANARY_FAULT="1")
    assert "transport exploded" in crashed and "Traceback" in crashed
    assert "transport exploded" in fails("plan", CANARY_FAULT="1")

    for args, output in session.outputs:
        for secret in every_secret:
            for fragment in _fragments(secret):
                assert fragment not in output, f"token leaked by `scisync {' '.join(args)}`"

    files = [path for path in root.rglob("*") if path.is_file()]
    files += [path for path in elsewhere.rglob("*") if path.is_file()]
    names = {path.relative_to(root).as_posix() for path in files if path.is_relative_to(root)}
    assert {"scisync.lock", "plan.json", ".scisync/hashcache.sqlite"} <= names
    for path in files:
        data = path.read_bytes()
        for secret in every_secret:
            for fragment in _fragments(secret):
                assert fragment.encode() not in data, f"token written to {path}"
