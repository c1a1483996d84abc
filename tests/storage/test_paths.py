from __future__ import annotations

import os
from pathlib import Path

import pytest

from scisync.errors import StorageError
from scisync.storage.base import RemotePath
from scisync.storage.paths import relative_to_folder, remote_file_path, safe_join


def test_safe_join_accepts_nested_relative_paths(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "a/b/c.h5") == tmp_path / "a" / "b" / "c.h5"


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("../escape", "'..'"),
        ("a/../../escape", "'..'"),
        ("/etc/passwd", "absolute"),
        ("a//b", "empty part"),
        ("./a", "'.'"),
        ("", "empty file path"),
        ("a\\..\\b", "absolute"),
        ("C:/x", "absolute"),
    ],
)
def test_safe_join_refuses_escapes(tmp_path: Path, relative: str, message: str) -> None:
    with pytest.raises(StorageError) as caught:
        safe_join(tmp_path, relative)
    assert message in str(caught.value)
    assert str(tmp_path) in str(caught.value)  # where
    assert caught.value.problems[0].hint  # what to do


def test_safe_join_refuses_a_symlinked_folder_leading_out(tmp_path: Path) -> None:
    target = tmp_path / "target"
    outside = tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    os.symlink(outside, target / "link")
    with pytest.raises(StorageError, match="symlink"):
        safe_join(target, "link/file.txt")


def test_safe_join_refuses_a_symlinked_file_leading_out(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(tmp_path / "victim", target / "file.txt")
    with pytest.raises(StorageError, match="symlink"):
        safe_join(target, "file.txt")


def test_safe_join_allows_symlinks_that_stay_inside(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert safe_join(tmp_path, "alias/x") == tmp_path / "alias" / "x"


def test_remote_file_path_joins_source_folder_and_relative_path() -> None:
    path = remote_file_path("/data/run1", "raw/a.h5")
    assert path == RemotePath("/data/run1/raw/a.h5")
    assert relative_to_folder(path, RemotePath("/data/run1")) == "raw/a.h5"


@pytest.mark.parametrize(
    ("folder", "relative"),
    [("data/run1", "a"), ("/data/../etc", "a"), ("/data", "../etc/passwd"), ("/data", "/etc")],
)
def test_remote_file_path_refuses_escapes(folder: str, relative: str) -> None:
    with pytest.raises(StorageError):
        remote_file_path(folder, relative)
