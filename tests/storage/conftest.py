"""Backends under test: the local file system and a real OpenSSH sshd (with/without shell)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scisync.storage.base import Storage
from scisync.storage.local import LocalStorage
from tests.storage.backends import Backend, sftp_storage

# The sshd fixtures (sshd_server, sshd_sftp_only) come from scisync.testing.sshd, which
# the top-level tests/conftest.py registers as a plugin.


@pytest.fixture(params=["local", "sftp", "sftp_only"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    remote_root = tmp_path / "server"
    remote_root.mkdir()
    storage: Storage
    if request.param == "local":
        storage = LocalStorage()
        has_checksum = True
    elif request.param == "sftp":
        storage = sftp_storage(request.getfixturevalue("sshd_server"))
        has_checksum = True
    else:
        storage = sftp_storage(request.getfixturevalue("sshd_sftp_only"))
        has_checksum = False
    try:
        yield Backend(request.param, storage, remote_root, has_checksum)
    finally:
        storage.close()
