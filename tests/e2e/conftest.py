"""A workspace per test: a manifest against the sandbox over real HTTP, local storage, data."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scisync._util import hashing
from scisync._util.secrets import forget_secrets
from scisync.desired import build
from scisync.manifest.model import DatasetSpec
from scisync.sandbox import SandboxServer

from .workspace import Workspace, storage_yaml, write_manifest


@pytest.fixture(params=["local", pytest.param("sftp", marks=pytest.mark.sftp)])
def storage_kind(request: pytest.FixtureRequest) -> str:
    """Every end-to-end test runs against local storage and against a real sshd."""
    return str(request.param)


@pytest.fixture
def storage_for(storage_kind: str, request: pytest.FixtureRequest) -> Callable[[Path], str]:
    sshd = request.getfixturevalue("sshd_server") if storage_kind == "sftp" else None
    return lambda store: storage_yaml(storage_kind, store, sshd)


@pytest.fixture
def workspace(
    tmp_path: Path, scicat_sandbox: SandboxServer, storage_for: Callable[[Path], str]
) -> Iterator[Workspace]:
    root = tmp_path / "project"
    root.mkdir()
    store = tmp_path / "store"
    storage = storage_for(store)
    write_manifest(root, scicat_sandbox.url, storage)
    yield Workspace(
        root=root,
        sandbox=scicat_sandbox,
        token=scicat_sandbox.login("ingestor"),
        store=store,
        storage=storage,
    )
    forget_secrets()


@pytest.fixture(autouse=True)
def _no_inherited_scicat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("SCICAT_", "SCISYNC_TEST_")):
            monkeypatch.delenv(name)


@pytest.fixture
def expanded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the datasets planned in full (their files globbed), in order."""
    keys: list[str] = []
    original = build.expand_files

    def probe(spec: DatasetSpec) -> list[tuple[str, str, os.stat_result]]:
        keys.append(spec.key)
        return original(spec)

    monkeypatch.setattr(build, "expand_files", probe)
    return keys


@pytest.fixture
def files_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many local files were read to hash them, call by call (cache hits not counted)."""
    read: list[int] = []
    original = hashing.hash_files

    def probe(*args: Any, **kwargs: Any) -> hashing.HashedFiles[Any]:
        result = original(*args, **kwargs)
        read.append(result.files_read)
        return result

    monkeypatch.setattr(hashing, "hash_files", probe)
    return read
