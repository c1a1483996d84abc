"""Shared fixtures: the SciCat sandbox and a real OpenSSH sshd (both shipped in scisync.testing)."""

from __future__ import annotations

import time

import pytest

from scisync._util import racy

pytest_plugins = ["scisync.testing.plugin", "scisync.testing.sshd"]


@pytest.fixture
def margin_elapsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every record is made as if the racy margin (scisync._util.racy) had passed since
    the files were last written: the rule's clock runs one margin ahead of the clock that
    stamps the files.  Waiting the margin out for real before each record gives the same
    answers at 3 s a record; a change made after a record is still racy.  For tests about
    something else that record right after writing files; the race itself is tested on
    the real clock (tests/util/test_racy.py, tests/e2e/test_racy.py)."""
    monkeypatch.setattr(racy, "now_ns", lambda: time.time_ns() + racy.RACY_MARGIN_NS + 1)
