from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from scisync.plan.files import UploadFiles
from scisync.plan.model import FileAction, FileChange
from tests.plan.factories import local_file


@pytest.mark.parametrize(
    ("path", "local", "remote"),
    [
        ("f.dat", "/data/run/f.dat", "/store/ds/f.dat"),  # both kept as folder + path
        ("sub/f.dat", "/data/run/sub/f.dat", "/store/ds/sub/f.dat"),
        ("f.dat", "/data/run/xf.dat", "/store/f.dat.bak"),  # not folder + path: kept whole
        ("f.dat", None, None),
        ("f.dat", "/data/run/f.dat", None),
        ("", "/data/", "/store"),
        ("f.dat", "f.dat", "/f.dat"),
    ],
)
def test_file_change_gives_back_the_local_and_remote_paths_it_was_given(
    path: str, local: str | None, remote: str | None
) -> None:
    """A plan keeps each file's folders once per dataset (issue 13): whatever the paths,
    they read back exactly, and changes compare and hash by value like a dataclass."""
    change = FileChange(path, FileAction.ADD, 3, "b" * 64, None, local, remote, True)
    assert (change.local, change.remote) == (local, remote)
    twin = FileChange(path, FileAction.ADD, 3, "b" * 64, None, local=local, remote=remote,
                      needs_transfer=True)  # fmt: skip
    assert change == twin and hash(change) == hash(twin)
    assert change != FileChange(path, FileAction.ADD, 3, "b" * 64, None, local, "/x", True)
    assert f"local={local!r}" in repr(change)
    with pytest.raises(FrozenInstanceError):
        change.size = 4  # type: ignore[misc]


def test_upload_files_read_compare_and_hash_like_the_tuple_of_their_changes() -> None:
    """A new dataset's uploads are a view over its LocalFiles (issue 13): every way the
    plan's users read a file list gives what the tuple of FileChanges gave."""
    locals_ = (local_file("a.dat", "one"), local_file("sub/b.dat", "two"), local_file("c", ""))
    on_storage = bytes([0, 1, 0])
    view = UploadFiles(locals_, "/store/ds/", FileAction.ADD, on_storage)
    expected = tuple(
        FileChange(
            path=f.relative,
            action=FileAction.ADD,
            size=f.size,
            blake3=f.blake3,
            checksum=f"sha256:{f.checksum.value}",
            local=f.local,
            remote=f"/store/ds/{f.relative}",
            needs_transfer=not stored,
        )
        for f, stored in zip(locals_, on_storage, strict=True)
    )
    assert view == expected and expected == view and hash(view) == hash(expected)
    assert tuple(view) == expected and list(view) == list(expected) and len(view) == 3
    assert view[-1] == expected[-1] and view[1:] == expected[1:] and view[::-1] == expected[::-1]
    assert view == UploadFiles(locals_, "/store/ds", FileAction.ADD, on_storage)
    assert view != UploadFiles(locals_, "/store/ds", FileAction.ADD, bytes(3))
    assert view != expected[:2] and view != UploadFiles(locals_, "/x", FileAction.ADD, on_storage)
    with pytest.raises(IndexError):
        view[3]
    # what the lockfile records of them, by columns (scisync.apply.lockbuild)
    paths, sizes, digests, checksums = view.columns()
    assert list(zip(paths, sizes, digests, checksums, strict=True)) == [
        (f.path, f.size, f.blake3, f.checksum) for f in expected
    ]


@pytest.mark.parametrize(
    "checksum", [None, "sha256:" + "ab" * 32, "md5:AB", "weird", "a:b:c", "sha1:", ":ab", "x: 0a"]
)
def test_file_change_gives_back_the_checksum_it_was_given(checksum: str | None) -> None:
    """An ``alg:hex`` checksum is kept as bytes (issue 13); every checksum reads back as given."""
    change = FileChange("f", FileAction.ADD, 1, None, checksum)
    assert change.checksum == checksum
    assert change == FileChange("f", FileAction.ADD, 1, None, checksum)
    assert change != FileChange("f", FileAction.ADD, 1, None, "other:00")
