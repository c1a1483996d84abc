"""A file list an apply records from its plan (DerivedFiles): made when read, never kept,
and equal, in every comparison, to the same files as a tuple or as read from scisync.lock."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from scisync.errors import LockfileError
from scisync.lock.io import dumps_lock, loads_lock
from scisync.lock.model import (
    DerivedFiles,
    FileColumns,
    LockedDataset,
    LockedFile,
    LockedFiles,
    Lockfile,
)
from tests.lock.lock_samples import random_lock


def _derived(files: tuple[LockedFile, ...], calls: list[int]) -> DerivedFiles:
    def make() -> tuple[LockedFile, ...]:
        calls.append(1)
        return files

    return DerivedFiles(make)


def _sorted(lock: Lockfile) -> Lockfile:
    def by_path(files: Sequence[LockedFile]) -> tuple[LockedFile, ...]:
        return tuple(sorted(files, key=lambda f: f.path))

    return dataclasses.replace(
        lock,
        datasets={
            k: dataclasses.replace(e, files=by_path(e.files)) for k, e in lock.datasets.items()
        },
        downloads={
            k: dataclasses.replace(e, files=by_path(e.files)) for k, e in lock.downloads.items()
        },
    )


@pytest.mark.parametrize("seed", range(20))
def test_derived_lists_write_and_compare_like_the_files_they_make(seed: int) -> None:
    lock = _sorted(random_lock(seed))  # an apply records its lists sorted
    calls: list[int] = []
    derived = dataclasses.replace(
        lock,
        datasets={
            key: dataclasses.replace(entry, files=_derived(tuple(entry.files), calls))
            for key, entry in lock.datasets.items()
        },
        downloads={
            key: dataclasses.replace(entry, files=_derived(tuple(entry.files), calls))
            for key, entry in lock.downloads.items()
        },
    )
    text = dumps_lock(lock)
    assert dumps_lock(derived) == text
    read = loads_lock(text, "scisync.lock")
    for section in ("datasets", "downloads"):
        for key, entry in getattr(derived, section).items():
            as_read = getattr(read, section)[key]
            as_built = getattr(lock, section)[key]
            assert isinstance(as_read.files, LockedFiles) or not as_read.files
            # both ways round, against a tuple, a read list and another derived list
            assert entry.files == tuple(as_built.files) and tuple(as_built.files) == entry.files
            assert entry.files == as_read.files and as_read.files == entry.files
            assert entry.files == _derived(tuple(as_built.files), [])
            assert hash(entry.files) == hash(tuple(as_built.files))
            assert list(entry.files) == list(as_built.files) and len(entry.files) == len(
                as_built.files
            )
    assert calls or not (lock.datasets or lock.downloads), "the lists are made when read"


def test_a_derived_list_differs_from_other_files_and_is_made_again_each_time() -> None:
    one = LockedFile("a", 1, "b" * 64)
    calls: list[int] = []
    files = _derived((one,), calls)
    assert files != (one._replace(size=2),)
    assert files != _derived((), [])
    entry = LockedDataset("k", "pid", "d", files)
    assert entry != LockedDataset("k", "pid", "d", (one._replace(path="b"),))
    before = len(calls)
    assert files[0] == one and files[0] == one
    assert len(calls) == before + 2  # nothing kept between reads


def _by_columns(files: tuple[LockedFile, ...]) -> DerivedFiles:
    def columns() -> FileColumns:
        return (
            [f.path for f in files],
            [f.size for f in files],
            [f.blake3 for f in files],
            [f.checksum for f in files],
        )

    return DerivedFiles(lambda: files, columns)


def _one_entry(files: Sequence[LockedFile]) -> Lockfile:
    return Lockfile(
        project="p", datasets={"k": LockedDataset(key="k", pid="p", fields_digest="d", files=files)}
    )


@pytest.mark.parametrize("seed", range(20))
def test_lists_given_by_columns_are_written_byte_for_byte_alike(seed: int) -> None:
    lock = random_lock(seed)  # sorted or not: the writer sorts what is not
    by_columns = dataclasses.replace(
        lock,
        datasets={
            key: dataclasses.replace(entry, files=_by_columns(tuple(entry.files)))
            for key, entry in lock.datasets.items()
        },
    )
    assert dumps_lock(by_columns) == dumps_lock(lock)


B3 = "b" * 64
COLUMN_REFUSALS = [
    ("path twice", (LockedFile("a", 1, B3), LockedFile("a", 2, B3)), "listed twice"),
    (
        "path twice, unsorted",
        (LockedFile("b", 1, B3), LockedFile("a", 1, B3), LockedFile("a", 1, B3)),
        "listed twice",
    ),
    ("unsafe path", (LockedFile("../x", 1, B3),), "datasets.k"),
    ("digest not hex", (LockedFile("a", 1, "XYZ"),), "datasets.k"),
    ("negative size", (LockedFile("a", -1, B3),), "datasets.k"),
]


@pytest.mark.parametrize(
    ("case", "files", "message"), COLUMN_REFUSALS, ids=[c for c, _, _ in COLUMN_REFUSALS]
)
def test_lists_given_by_columns_are_refused_as_file_lists_are(
    case: str, files: tuple[LockedFile, ...], message: str
) -> None:
    with pytest.raises(LockfileError, match=message) as by_tuple:
        dumps_lock(_one_entry(files))
    with pytest.raises(LockfileError, match=message) as by_columns:
        dumps_lock(_one_entry(_by_columns(files)))
    assert str(by_columns.value) == str(by_tuple.value)
