"""pytest fixtures that start scisync's SciCat sandbox on 127.0.0.1.

Enable them in a test suite with::

    # conftest.py
    pytest_plugins = ["scisync.testing.plugin"]

Then ask for one of these:

- ``scicat_sandbox``: a fresh, empty server for each test;
- ``scicat_sandbox_session``: one server shared by the whole session (tests must not rely
  on it being empty);
- ``scicat_sandbox_factory``: a function that starts servers with your own settings
  (fault injection, groups) and stops them after the test;
- ``hostile_scicat``: a :class:`scisync.testing.hostile.HostileScicat`, which serves the
  records you give it unchecked and misbehaves on request (drip-feed, stalls, endless or
  huge bodies, wrong content types, redirects, Retry-After storms, connection resets),
  to test what a client does with a broken or hostile server.

Each server is a running :class:`scisync.sandbox.SandboxServer`:

- ``server.url`` is the base URL clients take (``http://127.0.0.1:<port>/api/v3``);
- ``server.login("ingestor")`` gives a token;
- ``server.stats()`` counts the requests;
- the demo accounts are ``scisync.sandbox.DEFAULT_ACCOUNTS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scisync.sandbox import SandboxServer, SandboxSettings
from scisync.testing.hostile import HostileScicat

SandboxFactory = Callable[..., SandboxServer]


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


@pytest.fixture
def scicat_sandbox_factory(tmp_path: Path) -> Iterator[SandboxFactory]:
    """``start(settings=None, data_dir=None)`` starts a sandbox; all are stopped after the test.

    Pass the same ``data_dir`` again to "restart" a server on the same catalogue.
    """
    started: list[SandboxServer] = []

    def start(
        settings: SandboxSettings | None = None, data_dir: Path | None = None
    ) -> SandboxServer:
        folder = data_dir or tmp_path / f"scicat-sandbox-{len(started)}"
        server = SandboxServer(folder, settings=settings).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def hostile_scicat() -> Iterator[HostileScicat]:
    """A :class:`~scisync.testing.hostile.HostileScicat` on 127.0.0.1, stopped after the test.

    It serves the records you give it (``server.serve(datasets=[...])``) exactly as given
    and misbehaves on request (``server.misbehave(Drip(), path="/api/v4/datasets")``).
    """
    with HostileScicat() as server:
        yield server
