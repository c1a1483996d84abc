"""The scisync command line in a child process, as a user runs it: for the tests that need
a real process (signals, kills, exit codes, a fresh interpreter).

The child gets this checkout on PYTHONPATH, no colours, and none of the caller's
``SCICAT_*`` / ``SCISYNC_TEST_*`` variables (a developer's token or a test hook must not
leak in); what a test wants it to have is given explicitly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

REPO = Path(__file__).parents[1]


def child_environment(
    token: str | None = None, *, leave_out: Collection[str] = (), **extra: str
) -> dict[str, str]:
    """This process's environment cleaned as above, with *token* as SCICAT_TOKEN and
    *extra* on top; the names in *leave_out* are dropped as well."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SCICAT_", "SCISYNC_TEST_")) and name not in leave_out
    }
    if token is not None:
        environment["SCICAT_TOKEN"] = token
    return {**environment, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **extra}


def scisync_process(
    args: Sequence[str], environment: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m scisync ARGS``, its output captured as text, at most two minutes."""
    return subprocess.run(
        [sys.executable, "-m", "scisync", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_scisync(root: Path, token: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``scisync -C ROOT ARGS`` with *token*, and *env* (test hooks, say) on top."""
    return scisync_process(["-C", str(root), *args], child_environment(token, **env))
