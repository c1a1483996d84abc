"""A workspace per test: a manifest against the sandbox over real HTTP, local storage, data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from scisync.sandbox import SandboxServer
from scisync.secrets import forget_secrets

from .workspace import Workspace, write_manifest


@pytest.fixture
def workspace(tmp_path: Path, scicat_sandbox: SandboxServer) -> Iterator[Workspace]:
    root = tmp_path / "project"
    root.mkdir()
    write_manifest(root, scicat_sandbox.url)
    yield Workspace(root=root, sandbox=scicat_sandbox, token=scicat_sandbox.login("ingestor"))
    forget_secrets()


@pytest.fixture(autouse=True)
def _no_inherited_scicat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SCICAT_", "SCISYNC_TEST_")):
            monkeypatch.delenv(name)
