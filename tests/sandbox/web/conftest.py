"""Fixtures for the web page tests: the README quickstart applied, its sandbox served."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scisync.sandbox import SandboxServer
from tests.sandbox.web import browser

REPO = Path(__file__).parents[3]
QUICKSTART = REPO / "manifests.example" / "quickstart"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart project after `scisync apply` (its embedded sandbox folder filled)."""
    project = tmp_path_factory.mktemp("web") / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns(".scisync*", "scisync.lock"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SCICAT_", "SCISYNC_"))},
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "scisync", "apply", "--auto-approve"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return project


@pytest.fixture(scope="module")
def served(quickstart: Path) -> Iterator[SandboxServer]:
    """`scisync sandbox --data .scisync-sandbox` over the quickstart's folder."""
    with SandboxServer(quickstart / ".scisync-sandbox") as server:
        yield server
        assert server.errors() == []


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    why = browser.missing()
    if why is not None:
        if os.environ.get("CI"):
            pytest.fail(why)  # CI installs Chromium: a missing one there is a failure
        pytest.skip(why)
    with browser.chromium() as driver:
        yield driver


@pytest.fixture
def page(chrome: Any) -> Any:
    """The browser with no cookies: every test starts as an anonymous visitor."""
    chrome.delete_all_cookies()
    return chrome
