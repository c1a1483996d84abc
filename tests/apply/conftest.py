"""The project of :mod:`tests.apply.project` against the sandbox (real HTTP) with local
storage, opened by the ``setup`` fixture (see :mod:`tests.apply.applier_setup`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scisync import api
from scisync._util.secrets import forget_secrets
from scisync.sandbox import SandboxServer

from .applier_setup import Setup
from .project import write_project


@pytest.fixture
def setup(tmp_path: Path, scicat_sandbox: SandboxServer) -> Iterator[Setup]:
    root = tmp_path / "project"
    root.mkdir()
    write_project(root, scicat_sandbox.url, tmp_path / "store")
    token = scicat_sandbox.login("ingestor")
    project = api.load_project([root / "scisync.yaml"])
    with api.connect(project, environ={"SCICAT_TOKEN": token}) as connection:
        yield Setup(project, connection, scicat_sandbox, token)
    forget_secrets()
