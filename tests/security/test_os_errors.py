"""Operating-system errors that need a real condition a root test process cannot meet in
its own process: EACCES (root ignores permission bits, so the command runs as the user
``nobody``), EMFILE (a lowered RLIMIT_NOFILE) and ENOSPC (a 64 kB tmpfs).

Each runs the real ``scisync`` command line in a subprocess against the sandbox and
checks the exit code, that the message names the path and says what to do, that there is
no "internal error", and that nothing was written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scisync.errors import os_error_hint
from scisync.sandbox import SandboxServer
from tests.e2e.workspace import Workspace

from .hostile import catalogue, make_workspace, snapshot

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534

# Runs scisync's real entry point.  The modules the commands use are imported first (the
# interpreter may live where only root can read); then, as asked, the process becomes the
# user nobody for good, or RLIMIT_NOFILE drops to the files already open, so that the
# command's own next open() fails.
_RUNNER = """\
import os, resource, sys, unicodedata
import scisync.api, scisync.plan.codec, scisync.render.json, scisync.render.text
import scisync.render.validation, scisync.scicat.auth, scisync.storage.local
from scisync.cli import main
limit = os.environ.pop("TEST_NOFILE", None)
user = os.environ.pop("TEST_USER", None)
if user is not None:
    os.setgid(int(user))
    os.setuid(int(user))
if limit is not None:
    in_use = len(os.listdir("/proc/self/fd")) - 1  # less the listing's own
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + int(limit), in_use + int(limit)))
main(sys.argv[1:], prog_name="scisync")
"""


def run_scisync(
    workspace: Workspace, *args: str, user: int | None = None, nofile: int | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "SCICAT_TOKEN": workspace.token,
        "NO_COLOR": "1",
        "HOME": str(workspace.root),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if nofile is not None:
        env["TEST_NOFILE"] = str(nofile)
    if user is not None:
        env["TEST_USER"] = str(user)
    return subprocess.run(
        [sys.executable, "-c", _RUNNER, "-C", str(workspace.root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def open_workspace(scicat_sandbox_session: SandboxServer) -> Iterator[Workspace]:
    """A workspace the user nobody can use: under a world-readable folder, owned by nobody."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the command as another user")
    top = Path(tempfile.mkdtemp(prefix="scisync-oserr-", dir="/tmp"))
    top.chmod(0o755)
    sandbox = scicat_sandbox_session
    workspace = make_workspace(top, sandbox, sandbox.login("ingestor"))
    for folder, folders, files in os.walk(top):
        for name in [folder, *(os.path.join(folder, n) for n in folders + files)]:
            os.chown(name, NOBODY, NOBODY)
    try:
        yield workspace
    finally:
        for folder, folders, _ in os.walk(top):
            for name in folders:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(folder, name), 0o755)
        shutil.rmtree(top, ignore_errors=True)


def _root_only(path: Path) -> None:
    """*path* owned by root with no permission bits: unusable for nobody."""
    os.chown(path, 0, 0)
    path.chmod(0)


def _check(result: subprocess.CompletedProcess[str], fragment: str, path: str, hint: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert fragment in output, output
    assert path in output, output
    assert hint in output, output
    assert "internal error" not in output and "Traceback" not in output, output


EACCES_HINT = os_error_hint(PermissionError(13, "Permission denied"))


@pytest.mark.parametrize(
    ("target", "args", "fragment"),
    [
        ("runs/run-1", ["plan"], "cannot list folder"),
        ("scisync.lock", ["plan"], "cannot read scisync.lock: Permission denied"),
        ("scisync.yaml", ["validate"], "cannot read manifest: Permission denied"),
        ("outbox", ["plan", "--out", "outbox/plan.json"], "cannot save the plan"),
    ],
    ids=["files-folder", "lockfile", "manifest", "plan-out-folder"],
)
def test_eacces_names_the_path_and_what_to_do(
    open_workspace: Workspace, target: str, args: list[str], fragment: str
) -> None:
    workspace = open_workspace
    path = workspace.root / target
    if target == "scisync.lock":
        path.write_text("{}\n")
    if target == "outbox":
        path.mkdir()
        os.chown(path, 0, 0)
        path.chmod(0o755)  # root's folder: nobody may look in, not write
    else:
        _root_only(path)
    before = (
        snapshot(workspace.root, workspace.store),
        catalogue(workspace.sandbox, workspace.token),
    )
    result = run_scisync(workspace, *args, user=NOBODY)
    _check(result, fragment, target.split("/")[-1], EACCES_HINT)
    assert "Permission denied" in result.stderr
    after = snapshot(workspace.root, workspace.store), catalogue(workspace.sandbox, workspace.token)
    changed = {p for p in set(before[0]) | set(after[0]) if before[0].get(p) != after[0].get(p)}
    # `plan --out` plans (and so fills the hash cache) before it saves
    assert {p for p in changed if b"/.scisync" not in p} == set()
    assert before[1] == after[1]


def test_emfile_names_the_file_and_what_to_do(
    tmp_path: Path, scicat_sandbox_session: SandboxServer
) -> None:
    sandbox = scicat_sandbox_session
    workspace = make_workspace(tmp_path, sandbox, sandbox.login("ingestor"))
    result = run_scisync(workspace, "validate", nofile=0)
    _check(
        result,
        "Too many open files",
        "scisync.yaml",
        os_error_hint(OSError(24, "Too many open files")),
    )


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 kB tmpfs, filled up."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        with contextlib.suppress(OSError), (mount / "filler").open("wb") as filler:
            while True:
                filler.write(b"x" * 4096)
                filler.flush()
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_enospc_names_the_file_and_what_to_do(
    tmp_path: Path, scicat_sandbox_session: SandboxServer, full_disk: Path
) -> None:
    sandbox = scicat_sandbox_session
    workspace = make_workspace(tmp_path / "ws", sandbox, sandbox.login("ingestor"))
    before = sorted(os.listdir(full_disk))
    result = run_scisync(workspace, "plan", "--out", str(full_disk / "plan.json"))
    _check(
        result,
        "cannot save the plan: No space left on device",
        "plan.json",
        os_error_hint(OSError(28, "No space left on device")),
    )
    assert sorted(os.listdir(full_disk)) == before  # the temporary file was removed
