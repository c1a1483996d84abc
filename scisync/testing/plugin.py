"""pytest fixtures that start scisync's SciCat sandbox on 127.0.0.1.

Enable them in a test suite with::

    # conftest.py
    pytest_plugins = ["scisync.testing.plugin"]

then ask for ``scicat_sandbox`` (a fresh, empty server per test) or
``scicat_sandbox_session`` (one server shared by the whole session; tests must not rely
on it being empty).  Both yield a running :class:`scisync.sandbox.SandboxServer`:
``server.url`` is the base URL clients take (``http://127.0.0.1:<port>/api/v3``),
``server.login("ingestor")`` gives a token, and the demo accounts are
``scisync.sandbox.DEFAULT_ACCOUNTS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scisync.sandbox import SandboxServer


@pytest.fixture
def scicat_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """A SciCat sandbox with an empty catalogue in ``tmp_path``, stopped after the test."""
    with SandboxServer(tmp_path / "scicat-sandbox") as server:
        yield server


@pytest.fixture(scope="session")
def scicat_sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One SciCat sandbox for the whole test session (shared state; create unique names)."""
    with SandboxServer(tmp_path_factory.mktemp("scicat-sandbox-session")) as server:
        yield server
