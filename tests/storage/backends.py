"""The storages the backend tests run against, named so that tests import them by a
unique module name (conftest.py only holds the fixture)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scisync.storage.base import Storage
from scisync.storage.sftp import SftpStorage
from scisync.testing.sshd import SshServer


def sftp_storage(server: SshServer, **options: Any) -> SftpStorage:
    return SftpStorage(server.host_alias, ssh_config_path=server.ssh_config, **options)


@dataclass
class Backend:
    """A storage plus the local folder that its remote paths point into."""

    name: str
    storage: Storage
    remote_root: Path
    has_remote_checksum: bool
