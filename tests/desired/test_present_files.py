"""A download's target folder as the plan sees it: which files count as already present,
and the group-at-a-time hashing that keeps a million stat results from living at once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import blake3
import pytest

from scisync._util.hashing import CachedHasher
from scisync.desired import build
from scisync.desired.build import _desired_download, _present_paths
from scisync.manifest.model import DownloadSpec, PidRef


def _tree(target: Path, outside: Path) -> None:
    (target / "a" / "b").mkdir(parents=True)
    (target / "top.dat").write_bytes(b"top")
    (target / "a" / "b" / "deep.dat").write_bytes(b"deep")
    (target / "a" / "x.dat.scisync-tmp-1").write_bytes(b"half")  # scisync's temporary
    outside.mkdir()
    (outside / "secret.dat").write_bytes(b"secret")
    os.symlink(outside / "secret.dat", target / "link.dat")  # a symlink to a file
    os.symlink(outside, target / "linked-dir")  # a symlink to a folder: not followed


# entry under the target -> listed as present?
CASES = {
    "top.dat": True,
    "a/b/deep.dat": True,  # nested: relative POSIX path
    "a/x.dat.scisync-tmp-1": False,  # a temporary of an interrupted download
    "link.dat": False,  # symlinks are never taken for downloaded files
    "linked-dir/secret.dat": False,  # nor followed into another folder
}


def test_present_paths_lists_regular_files_only(tmp_path: Path) -> None:
    target = tmp_path / "target"
    _tree(target, tmp_path / "outside")
    listed = dict(_present_paths(target))
    for relative, expected in CASES.items():
        assert (relative in listed) is expected, relative
    assert listed["a/b/deep.dat"] == str(target / "a" / "b" / "deep.dat")
    assert list(listed) == sorted(listed)
    assert _present_paths(tmp_path / "missing") == []


@pytest.mark.parametrize("group", [1, 2, 1000])
def test_present_files_are_hashed_group_by_group_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group: int
) -> None:
    target = tmp_path / "target"
    _tree(target, tmp_path / "outside")
    monkeypatch.setattr(build, "_GROUP_FILES", group)
    spec = DownloadSpec(key="d", dataset=PidRef("p"), target=target)
    hasher = CachedHasher(tmp_path / "cache.json")
    present = _desired_download(spec, hasher).present
    assert sorted(present) == ["a/b/deep.dat", "top.dat"]
    deep = present["a/b/deep.dat"]
    assert deep.size == 4
    assert deep.blake3 == blake3.blake3(b"deep").hexdigest()
    assert deep.checksums["sha256"] == hashlib.sha256(b"deep").hexdigest()
