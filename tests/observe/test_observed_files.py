"""A dataset's file list from SciCat kept as columns (ObservedFiles): every value read
back is exactly the one given, and the list compares and hashes like the tuple."""

from __future__ import annotations

import pytest

from scisync.observe.model import ObservedDataset, ObservedFile, ObservedFiles
from scisync.scicat.convert import dataset_from_document

SHA = "ab" * 32
CASES: dict[str, list[ObservedFile]] = {
    "empty": [],
    "one": [ObservedFile("a.dat", 16, SHA, "sha256")],
    "no checksums": [ObservedFile("a", 0), ObservedFile("b/c", 2**63 - 1)],
    "checksums that do not pack": [
        ObservedFile("upper", 1, SHA.upper(), "sha256"),
        ObservedFile("odd", 2, "abc", "md5"),
        ObservedFile("not hex", 3, "zz-token", "sha256"),
        ObservedFile("packs", 4, SHA, "sha256"),
        ObservedFile("other width", 5, "0a1b", "md5"),
        ObservedFile("none", 6),
    ],
    "two algorithms": [
        ObservedFile("x", 1, SHA, "sha256"),
        ObservedFile("y", 1, "0a" * 16, "md5"),
        ObservedFile("z", 1, None, None),
    ],
    "unicode and long paths": [
        ObservedFile("日本/ü-data.dat", 7, SHA, "blake3"),
        ObservedFile("d/" * 100 + "f", 8, SHA, "blake3"),
        ObservedFile("\U0001f600.dat", 9, SHA, "blake3"),
    ],
}


@pytest.mark.parametrize("files", CASES.values(), ids=CASES.keys())
def test_columns_give_back_exactly_what_was_given(files: list[ObservedFile]) -> None:
    packed = ObservedFiles(files)
    assert list(packed) == files
    assert [packed[i] for i in range(len(files))] == files
    assert [packed[-i - 1] for i in range(len(files))] == files[::-1]
    assert packed[1:] == tuple(files[1:])
    assert list(packed.paths) == [f.path for f in files]
    assert len(packed) == len(files)
    # compared and hashed like the tuple, both ways round, and inside a dataset record
    assert packed == tuple(files) and tuple(files) == packed
    assert hash(packed) == hash(tuple(files))
    assert ObservedDataset("p", {}, files=packed) == ObservedDataset("p", {}, files=tuple(files))
    with pytest.raises(IndexError):
        packed[len(files)]


def test_a_different_list_is_not_equal() -> None:
    files = CASES["checksums that do not pack"]
    changed = [*files[:-1], ObservedFile("none", 6, SHA, "sha256")]
    assert ObservedFiles(files) != ObservedFiles(changed)
    assert ObservedFiles(files) != tuple(changed)
    assert ObservedFiles(files) != ObservedFiles(files[:-1])


def test_a_dataset_from_scicat_keeps_its_files_as_columns() -> None:
    document = {
        "pid": "p/1",
        "sourceFolder": "/data/x",
        "origdatablocks": [
            {
                "_id": "b1",
                "chkAlg": "SHA-256",
                "dataFileList": [
                    {"path": "b.dat", "size": 2, "chk": SHA, "time": "2020-01-01"},
                    {"path": "a.dat", "size": 1.0, "chk": ""},
                ],
            }
        ],
    }
    dataset = dataset_from_document(document)
    assert isinstance(dataset.files, ObservedFiles)
    assert dataset.files == (
        ObservedFile("b.dat", 2, SHA, "sha256"),
        ObservedFile("a.dat", 1, None, None),
    )
    assert dataset.problems == ()
