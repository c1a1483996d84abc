from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scisync.errors import ConcurrencyError
from scisync.lock.filelock import ApplyLock, default_apply_lock_path, describe_holder

REPO_ROOT = Path(__file__).resolve().parents[2]

# Takes the lock, says so, and holds it until told (a line on stdin) or killed.
HOLDER = """
import sys
from pathlib import Path
from scisync.lock.filelock import ApplyLock
with ApplyLock(Path(sys.argv[1]), timeout=10, command="scisync apply --auto-approve"):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    path = default_apply_lock_path(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        try:
            yield process, path
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def test_default_path_is_in_the_git_ignored_state_folder(tmp_path: Path) -> None:
    assert default_apply_lock_path(tmp_path) == tmp_path / ".scisync" / "apply.lock"


def test_second_process_times_out_naming_the_holder(
    holder: tuple[subprocess.Popen[str], Path],
) -> None:
    process, path = holder
    started = time.monotonic()
    with pytest.raises(ConcurrencyError) as raised, ApplyLock(path, timeout=0.3):
        pytest.fail("the lock should be held by the other process")
    assert time.monotonic() - started >= 0.3
    message = str(raised.value)
    assert f"pid {process.pid} on {socket.gethostname()}" in message
    assert "'scisync apply --auto-approve'" in message
    assert "another scisync apply is running" in message
    assert str(path) in message


def test_waits_until_the_holder_releases(holder: tuple[subprocess.Popen[str], Path]) -> None:
    process, path = holder
    assert process.stdin is not None and process.stdout is not None
    stdin = process.stdin

    def let_go() -> None:
        stdin.write("go\n")
        stdin.flush()

    timer = threading.Timer(0.3, let_go)
    started = time.monotonic()
    timer.start()
    with ApplyLock(path, timeout=30, command="second") as lock:
        timer.join()
        assert time.monotonic() - started >= 0.3  # it had to wait for the holder
        assert lock.held
        assert f"pid {os.getpid()} " in describe_holder(path)
        assert "'second'" in describe_holder(path)
    assert process.wait(timeout=10) == 0
    assert process.stdout.readline().strip() == "released"


def test_killed_holder_leaves_no_stale_lock(holder: tuple[subprocess.Popen[str], Path]) -> None:
    process, path = holder
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    with ApplyLock(path, timeout=5) as lock:
        assert lock.held


def test_release_clears_holder_and_keeps_file(tmp_path: Path) -> None:
    path = tmp_path / "apply.lock"
    with ApplyLock(path, timeout=0, command="x"):
        assert path.read_text().strip() != ""
    assert path.exists()
    assert path.read_text() == ""
    assert describe_holder(path) == "holder unknown"


def test_same_process_second_lock_conflicts(tmp_path: Path) -> None:
    # flock locks belong to open files, so even one process cannot take it twice.
    path = tmp_path / "apply.lock"
    with ApplyLock(path, timeout=0), pytest.raises(ConcurrencyError), ApplyLock(path, timeout=0):
        pass
    with ApplyLock(path, timeout=0) as again:
        assert again.held


def test_not_reentrant_and_bad_timeouts(tmp_path: Path) -> None:
    lock = ApplyLock(tmp_path / "apply.lock", timeout=math.inf)
    with lock, pytest.raises(RuntimeError):
        lock.acquire()
    assert not lock.held
    with pytest.raises(ValueError):
        ApplyLock(tmp_path / "apply.lock", timeout=-1)


def test_command_secrets_are_masked(tmp_path: Path) -> None:
    from scisync._util.secrets import forget_secrets, register_secret

    register_secret("s3cr3t-token")
    try:
        path = tmp_path / "apply.lock"
        with ApplyLock(path, timeout=0, command="scisync apply --token s3cr3t-token"):
            assert "s3cr3t-token" not in path.read_text()
            assert "--token ***" in describe_holder(path)
    finally:
        forget_secrets()
