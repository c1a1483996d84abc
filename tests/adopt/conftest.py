"""The import tests' project: the manifest of :mod:`tests.adopt.import_project` against the
sandbox, in a fresh folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scisync._util.secrets import forget_secrets
from scisync.sandbox import SandboxServer

from .import_project import write_manifest


@pytest.fixture
def project(tmp_path: Path, scicat_sandbox: SandboxServer) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    write_manifest(root, scicat_sandbox.url, tmp_path / "store")
    yield root
    forget_secrets()
