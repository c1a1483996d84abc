"""LocalStorage specifics: hard links, and refusing relative 'remote' paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scisync._util.hashing import hash_file
from scisync.errors import StorageError
from scisync.storage.base import RemotePath, UploadJob
from scisync.storage.local import LocalStorage


def upload_job(local: Path, remote: Path) -> UploadJob:
    return UploadJob(
        local,
        RemotePath(remote.as_posix()),
        local.stat().st_size,
        hash_file(local, ["blake3"])["blake3"],
    )


def test_hardlink_mode_links_instead_of_copying(tmp_path: Path) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(os.urandom(1000))
    target = tmp_path / "server" / "ds" / "a.bin"
    LocalStorage(hardlink=True).upload([upload_job(local, target)])
    assert target.stat().st_ino == local.stat().st_ino
    LocalStorage(hardlink=True).upload([upload_job(local, target)])  # identical: fine
    assert [p.name for p in target.parent.iterdir()] == ["a.bin"]


def test_hardlink_mode_still_refuses_a_differing_file(tmp_path: Path) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(b"mine")
    target = tmp_path / "server" / "a.bin"
    target.parent.mkdir()
    target.write_bytes(b"them")
    with pytest.raises(StorageError, match="different file"):
        LocalStorage(hardlink=True).upload([upload_job(local, target)])
    assert target.read_bytes() == b"them"


def test_copy_mode_makes_an_independent_copy(tmp_path: Path) -> None:
    local = tmp_path / "a.bin"
    local.write_bytes(b"data")
    target = tmp_path / "server" / "a.bin"
    LocalStorage().upload([upload_job(local, target)])
    assert target.stat().st_ino != local.stat().st_ino
    assert target.read_bytes() == b"data"


def test_relative_remote_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not absolute"):
        LocalStorage().stat(RemotePath("relative/path"))


def test_describe_is_plain() -> None:
    assert LocalStorage().describe() == "local file system"
