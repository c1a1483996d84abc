"""Racily clean files (scisync._util.racy): a recorded stat stamp vouches for a file only
when the file's mtime and ctime are older than the moment of recording less the margin.

The rule's table runs on real files whose mtime is set with os.utime and whose ctime is
the real one (utime cannot set it): the recorded time and "now" are placed around them.
The hash-cache cases run on the real clock: a file written moments ago is racy.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from blake3 import blake3

from scisync._util import racy
from scisync._util.hashing import CachedHasher, HashCache, hash_files
from scisync._util.racy import RACY_MARGIN_NS as MARGIN
from scisync._util.racy import newest_change_ns, stamp_vouches

S = 10**9

# (case, mtime set from the clock, recorded from the file's ctime or mtime, now from
# recorded, vouches).  The ctime is the real one: the moment os.utime set the mtime.
RULE_CASES = [
    ("mtime and ctime older than recorded - margin", -10 * S, "ctime", MARGIN + 1, 0, True),
    ("checked an hour later", -10 * S, "ctime", MARGIN + 1, 3600 * S, True),
    ("ctime exactly at recorded - margin", -10 * S, "ctime", MARGIN, 0, False),
    ("ctime within the margin, mtime old", -10 * S, "ctime", MARGIN // 2, 0, False),
    ("ctime after the recording", -10 * S, "ctime", -1, 0, False),
    ("mtime within the margin, ctime old", 10 * S, "mtime", MARGIN // 2, 0, False),
    ("mtime exactly at recorded - margin", 10 * S, "mtime", MARGIN, 0, False),
    ("mtime one ns older than that", 10 * S, "mtime", MARGIN + 1, 0, True),
    ("mtime in the future", 3600 * S, "ctime", MARGIN + 1, 0, False),
    ("recorded 1 ns in the future (clock set back)", -10 * S, "ctime", MARGIN + 1, -1, False),
    ("recorded an hour ahead (tampered)", -10 * S, "ctime", MARGIN + 3600 * S, -3600 * S, False),
]


@pytest.mark.parametrize(
    ("mtime_from_clock", "anchor", "recorded_from_anchor", "now_from_recorded", "vouches"),
    [case[1:] for case in RULE_CASES],
    ids=[case[0] for case in RULE_CASES],
)
def test_the_rule(
    tmp_path: Path,
    mtime_from_clock: int,
    anchor: str,
    recorded_from_anchor: int,
    now_from_recorded: int,
    vouches: bool,
) -> None:
    path = tmp_path / "f.dat"
    path.write_bytes(b"content")
    clock = time.time_ns()
    os.utime(path, ns=(clock, clock + mtime_from_clock))  # the ctime becomes "now"
    st = path.stat()
    recorded = (st.st_ctime_ns if anchor == "ctime" else st.st_mtime_ns) + recorded_from_anchor
    now = recorded + now_from_recorded
    assert stamp_vouches(newest_change_ns(st), recorded, now) is vouches


# --- the hash cache, on the real clock ----------------------------------------------


def _write(path: Path, data: bytes) -> bytes:
    path.write_bytes(data)
    return data


def _digests(data: bytes) -> dict[str, str]:
    return {"blake3": blake3(data).hexdigest()}


def test_a_file_hashed_right_after_it_was_written_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "f.dat"
    _write(path, b"fresh")
    cache = HashCache(tmp_path / "cache.sqlite")
    assert hash_files([path], ["blake3"], cache).files_read == 1
    again = hash_files([path], ["blake3"], cache)
    assert again.files_read == 1  # racy: the file changed within the margin of its hash
    assert again.digests[path] == _digests(b"fresh")


def test_the_race_a_rewrite_in_the_same_tick_leaves_is_read_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hash read "old"; the file was rewritten in place with the same size within the
    same clock tick, so its stat is what was hashed: the entry the race leaves is planted
    (a tick cannot be held on this kernel's fine timestamps), then looked up."""
    path = tmp_path / "f.dat"
    _write(path, b"new!")  # what the file holds now
    st = path.stat()
    cache = HashCache(tmp_path / "cache.sqlite")
    cache.store(path, st, _digests(b"old!"), racy.now_ns())  # read just before the rewrite
    assert cache.lookup(path, st, ["blake3"]) is None
    found = hash_files([path], ["blake3"], cache, stats=[st])
    assert found.files_read == 1 and found.digests[path] == _digests(b"new!")

    # The same entry once the margin has passed since the file's last change is trusted:
    # only the rule stands between the planted entry and a wrong digest.
    later = racy.now_ns() + MARGIN + 1
    monkeypatch.setattr(racy, "now_ns", lambda: later)
    cache.store(path, st, _digests(b"old!"), later)
    assert cache.lookup(path, st, ["blake3"]) == _digests(b"old!")


def test_a_recorded_time_in_the_future_costs_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tampered row (or one written before the clock was set back) vouches for nothing;
    the file is read and recorded with a time that is not in the future."""
    path = tmp_path / "f.dat"
    _write(path, b"content")
    st = path.stat()
    cache = HashCache(tmp_path / "cache.sqlite")
    cache.store(path, st, _digests(b"forged!"), racy.now_ns() + 3600 * S)
    hour_ahead_then_now = racy.now_ns() + MARGIN + 1  # the file is old enough meanwhile
    monkeypatch.setattr(racy, "now_ns", lambda: hour_ahead_then_now)
    assert cache.lookup(path, st, ["blake3"]) is None  # an hour ahead of "now"
    found = hash_files([path], ["blake3"], cache, stats=[st])
    assert found.files_read == 1 and found.digests[path] == _digests(b"content")
    monkeypatch.setattr(racy, "now_ns", lambda: hour_ahead_then_now + 1)
    assert cache.lookup(path, st, ["blake3"]) == _digests(b"content")  # the fresh record


def test_a_racy_entry_keeps_no_digest_when_the_file_is_hashed_for_another_algorithm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row hashed again under the same stamp keeps its other digests only while it still
    vouches: a racy row's sha256 may be of content that is gone."""
    path = tmp_path / "f.dat"
    _write(path, b"new!")
    st = path.stat()
    cache = HashCache(tmp_path / "cache.sqlite")
    old = {"blake3": blake3(b"old!").hexdigest(), "sha256": "0" * 64}
    cache.store(path, st, old, racy.now_ns())  # racy
    later = racy.now_ns() + MARGIN + 1
    monkeypatch.setattr(racy, "now_ns", lambda: later)
    hash_files([path], ["blake3"], cache, stats=[st])  # racy: read, blake3 only
    assert cache.lookup(path, st, ["blake3"]) == _digests(b"new!")
    assert cache.lookup(path, st, ["sha256"]) is None  # the old sha256 was dropped

    hash_files([path], ["sha256"], cache, stats=[st])  # vouching row: sha256 joins blake3
    both = cache.lookup(path, st, ["blake3", "sha256"])
    assert both is not None and both["blake3"] == blake3(b"new!").hexdigest()


def test_a_racy_entry_vouches_for_no_hard_link_and_follows_none(tmp_path: Path) -> None:
    path = tmp_path / "f.dat"
    _write(path, b"content")
    hasher = CachedHasher(tmp_path / "cache.sqlite")
    hasher.digests([path], ["blake3"], [path.stat()])
    before = path.stat()
    assert not hasher.voucher([path], [blake3(b"content").hexdigest()])(0, before)
    os.link(path, tmp_path / "linked")
    after = path.stat()
    hasher.follow_link(path, before, after, ["blake3"])
    assert hasher.cache.lookup(path, after, ["blake3"]) is None
    read = hasher.files_read
    hasher.digests([path], ["blake3"], [after])
    assert hasher.files_read == read + 1


def test_an_entry_carried_across_a_link_keeps_its_recorded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link's fresh ctime does not make the carried entry racy: it is judged by the
    time and the latest change of the entry it was carried from."""
    path = tmp_path / "f.dat"
    _write(path, b"content")
    later = racy.now_ns() + MARGIN + 1  # as if the file had been written a margin ago
    monkeypatch.setattr(racy, "now_ns", lambda: later)
    hasher = CachedHasher(tmp_path / "cache.sqlite")
    hasher.digests([path], ["blake3"], [path.stat()])
    before = path.stat()
    assert hasher.voucher([path], [blake3(b"content").hexdigest()])(0, before)
    os.link(path, tmp_path / "linked")
    after = path.stat()
    assert after.st_ctime_ns > before.st_ctime_ns
    hasher.follow_link(path, before, after, ["blake3"])
    assert hasher.cache.lookup(path, after, ["blake3"]) == _digests(b"content")


def test_a_cache_of_the_version_before_recorded_times_is_a_miss_not_an_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.dat"
    _write(path, b"content")
    st = path.stat()
    file = tmp_path / "cache.sqlite"
    with sqlite3.connect(file) as db:  # version 2: no recorded times, maybe racy rows
        db.execute(
            "CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
            "mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, "
            "blake3 TEXT, sha256 TEXT, sha1 TEXT, md5 TEXT, blake2b TEXT) WITHOUT ROWID"
        )
        row = (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        db.execute(
            "INSERT INTO files (path, size, mtime_ns, ctime_ns, inode, blake3) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (*row, blake3(b"forged!").hexdigest()),
        )
        db.execute("PRAGMA user_version = 2")
    db.close()
    cache = HashCache(file)
    assert cache.lookup(path, st, ["blake3"]) is None
    assert hash_files([path], ["blake3"], cache).digests[path] == _digests(b"content")


def test_the_fresh_record_holds_once_time_has_moved_on(tmp_path: Path) -> None:
    """On the real clock, waiting the margin out once: the entry recorded after the file
    was last changed by more than the margin is trusted."""
    path = tmp_path / "f.dat"
    _write(path, b"content")
    cache = HashCache(tmp_path / "cache.sqlite")
    assert hash_files([path], ["blake3"], cache).files_read == 1
    st = path.stat()
    time.sleep((newest_change_ns(st) + MARGIN - time.time_ns()) / 1e9 + 0.05)
    assert hash_files([path], ["blake3"], cache).files_read == 1  # the first was racy
    assert hash_files([path], ["blake3"], cache).files_read == 0
