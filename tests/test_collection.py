"""Any set of test folders collects together, in any order.

Test folders without ``__init__.py`` share the top-level module namespace under pytest's
rootdir import mode, so a test module that imported ``conftest`` by name got another
folder's conftest when both were collected (``tests/scicat tests/storage`` failed while
the whole suite passed). Collected here in a subprocess, as a developer runs them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]

# Every folder that has its own conftest.py, in the order that clashed (storage's conftest
# loaded before scicat's tests were imported) and in reverse.
WITH_CONFTEST = sorted(
    path.parent.relative_to(REPO).as_posix()
    for path in (REPO / "tests").rglob("conftest.py")
    if path.parent != REPO / "tests"
)


@pytest.mark.parametrize(
    "folders",
    [
        ["tests/scicat", "tests/storage"],
        ["tests/storage", "tests/scicat", "tests/apply"],
        WITH_CONFTEST[::-1],
    ],
    ids=["scicat+storage", "storage+scicat+apply", "every-conftest-folder-reversed"],
)
def test_folders_collect_together(folders: list[str]) -> None:
    assert {"tests/scicat", "tests/storage", "tests/apply"} <= set(WITH_CONFTEST)
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    run = subprocess.run(
        [*command, *folders],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "error" not in summary, summary
    assert " collected" in summary or "tests collected" in summary, summary
