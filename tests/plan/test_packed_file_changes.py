"""A download's planned files kept as columns (PackedFileChanges): every change reads
back exactly as given, and the list compares and hashes like the tuple of its changes."""

from __future__ import annotations

import itertools

import pytest

from scisync.plan.model import FileAction, FileChange, PackedFileChanges

B3 = "c" * 64
PATHS = [  # (path, local, remote): folder + path, other folders, not joined, None
    ("f.dat", "/data/run/f.dat", "/store/ds/f.dat"),
    ("sub/f.dat", "/data/run/sub/f.dat", "/store/ds/sub/f.dat"),
    ("g.dat", "/elsewhere/g.dat", "/store/other/g.dat"),
    ("h.dat", "/data/run/xh.dat", "/store/h.dat.bak"),
    ("i.dat", None, None),
    ("日本.dat", "/data/run/日本.dat", "/store/ds/日本.dat"),
    ("", "/data/", "/store"),
]
CHECKSUMS = [None, "sha256:" + "ab" * 32, "md5:AB", "weird", "a:b:c", "sha1:", ":ab"]
BLAKE3 = [None, B3, B3.upper(), "short"]


def _changes(count: int) -> list[FileChange]:
    rows = itertools.islice(
        itertools.cycle(itertools.product(PATHS, CHECKSUMS, BLAKE3, FileAction, [True, False])),
        count,
    )
    return [
        FileChange(path, action, n, blake3, checksum, local, remote, transfer)
        for n, ((path, local, remote), checksum, blake3, action, transfer) in enumerate(rows)
    ]


@pytest.mark.parametrize("count", [0, 1, 3, 7 * 7 * 4 * 4 * 2])
def test_packed_changes_read_back_exactly(count: int) -> None:
    changes = _changes(count)
    packed = PackedFileChanges(changes)
    assert list(packed) == changes
    assert [packed[i] for i in range(count)] == changes
    assert [(c.local, c.remote, c.checksum, c.blake3) for c in packed] == [
        (c.local, c.remote, c.checksum, c.blake3) for c in changes
    ]
    assert packed == tuple(changes) and tuple(changes) == packed
    assert hash(packed) == hash(tuple(changes))
    assert packed[::-1] == tuple(changes[::-1]) and len(packed) == count


def test_one_difference_makes_them_unequal() -> None:
    changes = _changes(20)
    for index, other in [
        (3, FileChange("f.dat", FileAction.ADD, 3, None, None, "/data/run/f.dat", None)),
        (0, FileChange("f.dat", FileAction.KEEP, 0, None, None, "/x/f.dat", "/store/ds/f.dat")),
    ]:
        changed = [*changes[:index], other, *changes[index + 1 :]]
        assert PackedFileChanges(changes) != PackedFileChanges(changed)
        assert PackedFileChanges(changes) != tuple(changed)
