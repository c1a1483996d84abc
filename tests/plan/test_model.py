from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from scisync.plan.model import FileAction, FileChange


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
