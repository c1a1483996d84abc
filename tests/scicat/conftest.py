"""Fixtures for the client tests: the scripted fault server of
:mod:`tests.scicat.fault_server`, a refused port, and forgetting registered secrets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from scisync._util.secrets import forget_secrets
from tests.scicat.fault_server import FaultServer


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def refused_url() -> str:
    """A loopback URL on which nothing listens (a port we bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v3"


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    yield
    forget_secrets()
