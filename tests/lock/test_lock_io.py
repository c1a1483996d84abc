from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from scisync.errors import LockfileError
from scisync.lock.io import (
    canonical_lock,
    check_relative_path,
    dumps_lock,
    loads_lock,
    lock_digest,
    lock_from_json,
    read_lock,
    write_lock,
)
from scisync.lock.model import LOCK_VERSION, LockedDataset, LockedFile, LockedSample, Lockfile
from tests.lock.lock_samples import random_lock, reversed_order, small_lock


@pytest.mark.parametrize("seed", range(200))
def test_round_trip_and_determinism(seed: int) -> None:
    lock = random_lock(seed)
    text = dumps_lock(lock)
    loaded = loads_lock(text, "scisync.lock")
    assert loaded == canonical_lock(lock)
    assert canonical_lock(loaded) == loaded  # loading yields the canonical form
    assert dumps_lock(loaded) == text
    assert dumps_lock(reversed_order(lock)) == text


def test_canonical_form_sorts_files_and_keeps_supersedes_order() -> None:
    lock = canonical_lock(small_lock())
    assert [f.path for f in lock.datasets["run1"].files] == ["a/b.h5", "z.h5"]
    entry = LockedDataset(key="k", pid="p", fields_digest="d", supersedes=("p2", "p1"))
    assert canonical_lock(Lockfile(project="x", datasets={"k": entry})).datasets[
        "k"
    ].supersedes == ("p2", "p1")


def test_text_is_one_file_per_line_sorted_with_trailing_newline() -> None:
    text = dumps_lock(small_lock())
    assert text.endswith("}\n") and not text.endswith("\n\n")
    lines = text.splitlines()
    file_lines = [line for line in lines if '"path": ' in line]
    assert file_lines == [
        '        {"path": "a/b.h5", "size": 10, "blake3": "'
        + "b" * 64
        + '", "checksum": "sha256:ff"},',
        '        {"path": "z.h5", "size": 3, "blake3": "' + "a" * 64 + '"}',
    ]
    # Top-level keys sorted; each a line of its own.
    top = [line.split('"')[1] for line in lines if line.startswith('  "')]
    assert top == ["datasets", "downloads", "project", "samples", "version"]
    assert json.loads(text)["version"] == LOCK_VERSION


def test_one_changed_file_is_a_one_line_diff() -> None:
    before = small_lock()
    entry = before.datasets["run1"]
    changed = LockedFile(path="z.h5", size=4, blake3="e" * 64)
    after = Lockfile(
        project=before.project,
        datasets={
            "run1": LockedDataset(
                key="run1",
                pid=entry.pid,
                fields_digest=entry.fields_digest,
                files=(entry.files[1], changed),
                attachments=entry.attachments,
            )
        },
        samples=before.samples,
    )
    old_lines = dumps_lock(before).splitlines()
    new_lines = dumps_lock(after).splitlines()
    assert len(old_lines) == len(new_lines)
    differing = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(differing) == 1
    assert '"z.h5"' in differing[0][1]


def test_no_machine_specific_content() -> None:
    text = dumps_lock(small_lock())
    assert os.uname().nodename not in text
    assert str(Path.home()) not in text
    assert time.strftime("%Y-") not in text


@pytest.mark.parametrize(
    "path", ["/abs/file", "a/../b", "..", "./a", "a//b", "a/", "a\\b", "C:/x", ""]
)
def test_unsafe_paths_refused_on_write(path: str) -> None:
    assert check_relative_path(path) is not None
    lock = Lockfile(
        project="p",
        datasets={
            "k": LockedDataset(
                key="k", pid="p", fields_digest="d", files=(LockedFile(path, 1, "ab"),)
            )
        },
    )
    with pytest.raises(LockfileError) as raised:
        dumps_lock(lock)
    assert "datasets.k" in str(raised.value)


@pytest.mark.parametrize("path", ["a", "a/b.h5", ".hidden", "a/..b", "dir/.x/y"])
def test_ordinary_relative_paths_accepted(path: str) -> None:
    assert check_relative_path(path) is None


def test_unsafe_path_refused_on_read_with_location() -> None:
    data = json.loads(dumps_lock(small_lock()))
    data["datasets"]["run1"]["files"][0]["path"] = "../escape"
    with pytest.raises(LockfileError) as raised:
        loads_lock(json.dumps(data), "repo/scisync.lock")
    assert "repo/scisync.lock" in str(raised.value)
    assert "datasets.run1" in str(raised.value)


def test_duplicate_file_paths_refused() -> None:
    lock = Lockfile(
        project="p",
        downloads={},
        datasets={
            "k": LockedDataset(
                key="k",
                pid="p",
                fields_digest="d",
                files=(LockedFile("a", 1, "ab"), LockedFile("a", 2, "cd")),
            )
        },
    )
    with pytest.raises(LockfileError, match="listed twice"):
        dumps_lock(lock)


def test_mismatched_mapping_key_refused() -> None:
    lock = Lockfile(
        project="p", samples={"a": LockedSample(key="b", sample_id="s", fields_digest="d")}
    )
    with pytest.raises(LockfileError, match="filed under 'a' has key 'b'"):
        dumps_lock(lock)


def test_newer_version_refused_with_upgrade_message() -> None:
    data = json.loads(dumps_lock(small_lock()))
    data["version"] = LOCK_VERSION + 1
    data["something_new"] = {"shape": "unknown to this scisync"}
    with pytest.raises(LockfileError) as raised:
        loads_lock(json.dumps(data), "scisync.lock")
    message = str(raised.value)
    assert (
        f"scisync.lock was written by a newer scisync (lock version {LOCK_VERSION + 1}); "
        "upgrade scisync: pip install -U scisync"
    ) in message
    assert message.startswith("scisync.lock: ")


def test_invalid_json_reports_line_and_column() -> None:
    text = dumps_lock(small_lock())
    lines = text.splitlines()
    lines[5] = "<<<<<<< HEAD"
    with pytest.raises(LockfileError) as raised:
        loads_lock("\n".join(lines), "proj/scisync.lock")
    assert "proj/scisync.lock:6:1:" in str(raised.value)
    assert "not valid JSON" in str(raised.value)


def test_schema_violation_reports_line_column_and_json_path() -> None:
    text = dumps_lock(small_lock()).replace('"size": 3', '"size": -3')
    line = next(n for n, content in enumerate(text.splitlines(), 1) if '"size": -3' in content)
    column = text.splitlines()[line - 1].index("-3") + 1
    loaded = loads_lock(text, "scisync.lock")  # the canonical layout: checked on first use
    with pytest.raises(LockfileError) as raised:
        list(loaded.datasets["run1"].files)
    assert f"scisync.lock:{line}:{column}: $.datasets.run1.files[1].size" in str(raised.value)
    assert "-3 is less than the minimum of 0" in str(raised.value)


def test_schema_violation_without_text_reports_json_path() -> None:
    data = json.loads(dumps_lock(small_lock()))
    data["datasets"]["run1"]["files"][1]["size"] = -1
    with pytest.raises(LockfileError) as raised:
        lock_from_json(data, "scisync.lock")
    assert "scisync.lock: $.datasets.run1.files[1].size" in str(raised.value)


def test_missing_section_is_invalid() -> None:
    data = json.loads(dumps_lock(small_lock()))
    del data["samples"]
    with pytest.raises(LockfileError, match="'samples' is a required property"):
        loads_lock(json.dumps(data), "scisync.lock")


def test_read_lock_absent_returns_none(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "scisync.lock") is None
    assert lock_digest(tmp_path / "scisync.lock") == "absent"


def test_read_lock_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "scisync.lock"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(LockfileError, match="not UTF-8"):
        read_lock(path)


def test_write_then_read(tmp_path: Path) -> None:
    path = tmp_path / "scisync.lock"
    assert write_lock(path, small_lock()) is True
    assert read_lock(path) == canonical_lock(small_lock())
    assert lock_digest(path).startswith("sha256:")
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_write_lock_leaves_identical_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "scisync.lock"
    assert write_lock(path, small_lock()) is True
    past = time.time() - 1000
    os.utime(path, (past, past))
    inode = path.stat().st_ino
    before_digest = lock_digest(path)
    # Same content built in another order: same bytes, so nothing is written.
    assert write_lock(path, reversed_order(small_lock())) is False
    assert path.stat().st_mtime == past
    assert path.stat().st_ino == inode
    assert lock_digest(path) == before_digest


def test_write_lock_replaces_changed_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "scisync.lock"
    write_lock(path, small_lock())
    inode = path.stat().st_ino
    digest = lock_digest(path)
    assert write_lock(path, Lockfile(project="demo")) is True
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert lock_digest(path) != digest
    assert read_lock(path) == Lockfile(project="demo")


def test_written_lock_is_world_readable_per_umask(tmp_path: Path) -> None:
    path = tmp_path / "scisync.lock"
    old = os.umask(0o022)
    try:
        write_lock(path, small_lock())
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_write_lock_unwritable_directory(tmp_path: Path) -> None:
    with pytest.raises(LockfileError, match=r"cannot write scisync\.lock"):
        write_lock(tmp_path / "missing-dir" / "scisync.lock", small_lock())


def test_writing_an_unknown_version_is_refused() -> None:
    with pytest.raises(LockfileError, match="refusing to write lock version"):
        dumps_lock(Lockfile(project="p", version=LOCK_VERSION + 1))


@pytest.mark.parametrize("seed", range(5))
def test_a_consistent_lockfile_is_checked_without_locating_anything(seed: int) -> None:
    """Locating an entry parses the lockfile text; done per entry it made loading quadratic
    (a 1,000-dataset lockfile took 90 s).  So the locator is called only for an error."""
    from scisync.lock.consistency import check_consistent

    def no_locating(parts: tuple[str, ...]) -> str:
        raise AssertionError(f"located {parts} although nothing is wrong")

    check_consistent(random_lock(seed), no_locating)
