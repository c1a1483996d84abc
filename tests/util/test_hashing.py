from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from blake3 import blake3

from scisync._util import hashing, racy
from scisync._util.hashing import (
    SUPPORTED_ALGORITHMS,
    CachedHasher,
    HashCache,
    StreamingHasher,
    hash_file,
    hash_files,
    normalise_algorithm,
)
from scisync.errors import StorageError

# Files are hashed right after they are written: without this, every one is racy
# (scisync._util.racy; the race itself: tests/util/test_racy.py).
pytestmark = pytest.mark.usefixtures("margin_elapsed")

EMPTY_BLAKE3 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
ABC_BLAKE3 = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("SHA-256", "sha256"),
        ("sha256", "sha256"),
        ("BLAKE3", "blake3"),
        ("blake2b", "blake2b"),
        ("MD5", "md5"),
        ("sha-1", "sha1"),
    ],
)
def test_normalise_algorithm(given: str, expected: str) -> None:
    assert normalise_algorithm(given) == expected


def test_unknown_algorithm_names_it_and_lists_supported() -> None:
    with pytest.raises(StorageError) as caught:
        normalise_algorithm("crc32")
    text = str(caught.value)
    assert "'crc32'" in text
    for name in SUPPORTED_ALGORITHMS:
        assert name in text


def test_known_blake3_vectors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    abc = tmp_path / "abc"
    abc.write_bytes(b"abc")
    assert hash_file(empty, ["blake3"]) == {"blake3": EMPTY_BLAKE3}
    assert hash_file(abc, ["blake3"]) == {"blake3": ABC_BLAKE3}


@pytest.mark.parametrize("size", [1, 1_000_003, 9 * 2**20 + 7])
def test_one_read_feeds_every_algorithm_like_hashlib(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    digests = hash_file(path, ["blake3", "SHA-256", "md5", "sha1", "blake2b"])
    assert digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert digests["md5"] == hashlib.md5(data).hexdigest()
    assert digests["sha1"] == hashlib.sha1(data).hexdigest()
    assert digests["blake2b"] == hashlib.blake2b(data).hexdigest()
    # The blake3-only path (mmap, threads) and the shared-read path agree.
    assert hash_file(path, ["blake3"])["blake3"] == digests["blake3"]
    streaming = StreamingHasher(["blake3", "sha256"])
    for start in range(0, size, 65536):
        streaming.update(data[start : start + 65536])
    assert streaming.hexdigests() == {"blake3": digests["blake3"], "sha256": digests["sha256"]}


@pytest.mark.skipif(shutil.which("b3sum") is None, reason="b3sum (Debian package b3sum) absent")
def test_blake3_matches_b3sum(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(5 * 2**20 + 3))
    out = subprocess.run(["b3sum", "--no-names", str(path)], capture_output=True, text=True)
    assert hash_file(path, ["blake3"])["blake3"] == out.stdout.strip()


def test_missing_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot read file"):
        hash_file(tmp_path / "nope", ["blake3"])


def make_files(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"f{i}.bin"
        path.write_bytes(os.urandom(1000 + i))
        paths.append(path)
    return paths


def test_cache_means_unchanged_files_are_not_read_again(tmp_path: Path) -> None:
    paths = make_files(tmp_path, 20)
    cache_file = tmp_path / "cache" / "hashes.json"
    cache = HashCache(cache_file)
    first = hash_files(paths, ["blake3"], cache, workers=4)
    assert first.files_read == 20
    assert first.bytes_read == sum(p.stat().st_size for p in paths)
    cache.save()

    reloaded = HashCache(cache_file)  # a new process would do this
    second = hash_files(paths, ["blake3"], reloaded, workers=4)
    assert second.files_read == 0
    assert second.bytes_read == 0
    assert second.digests == first.digests

    paths[3].write_bytes(b"changed")
    third = hash_files(paths, ["blake3"], reloaded, workers=4)
    assert third.files_read == 1
    assert third.digests[paths[3]]["blake3"] == hash_file(paths[3], ["blake3"])["blake3"]


def test_cache_rereads_for_an_algorithm_it_lacks_and_keeps_both(tmp_path: Path) -> None:
    paths = make_files(tmp_path, 3)
    cache = HashCache(tmp_path / "hashes.json")
    hash_files(paths, ["blake3"], cache)
    both = hash_files(paths, ["blake3", "sha256"], cache)
    assert both.files_read == 3
    again = hash_files(paths, ["sha256", "blake3"], cache)
    assert again.files_read == 0
    assert again.digests[paths[0]]["sha256"] == hashlib.sha256(paths[0].read_bytes()).hexdigest()


def test_cache_detects_a_replaced_file_of_same_size(tmp_path: Path) -> None:
    paths = make_files(tmp_path, 1)
    cache = HashCache(tmp_path / "hashes.json")
    hash_files(paths, ["blake3"], cache)
    replacement = tmp_path / "new.bin"
    replacement.write_bytes(os.urandom(paths[0].stat().st_size))
    os.replace(replacement, paths[0])  # new inode, same size
    assert hash_files(paths, ["blake3"], cache).files_read == 1


def test_corrupt_cache_file_only_costs_a_reread(tmp_path: Path) -> None:
    paths = make_files(tmp_path, 2)
    cache_file = tmp_path / "hashes.json"
    cache_file.write_text("{not json")
    cache = HashCache(cache_file)
    assert hash_files(paths, ["blake3"], cache).files_read == 2
    cache.save()
    assert hash_files(paths, ["blake3"], HashCache(cache_file)).files_read == 0


def test_cache_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    paths = make_files(tmp_path, 2)
    cache = HashCache(folder / "hashes.json")
    hash_files(paths, ["blake3"], cache)
    cache.save()
    assert sorted(p.name for p in folder.iterdir()) == ["hashes.json"]
    before = (folder / "hashes.json").stat().st_mtime_ns
    cache.save()  # nothing changed: not rewritten
    assert (folder / "hashes.json").stat().st_mtime_ns == before


def test_hash_files_without_cache_reads_everything_in_parallel(tmp_path: Path) -> None:
    paths = make_files(tmp_path, 10)
    result = hash_files(paths, ["sha256"], None, workers=3)
    assert result.files_read == 10
    assert list(result.digests) == paths
    for path in paths:
        assert result.digests[path]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("workers", [1, 4])
def test_small_and_large_files_mixed_get_their_own_digests_in_the_given_order(
    tmp_path: Path, workers: int
) -> None:
    """Large files go to the worker threads, small ones stay on the calling thread; each
    path still gets its own digests, in the order the paths were given."""
    sizes = [16, hashing._THREADED_FROM, 0, hashing._THREADED_FROM + 1, 3 * 2**20, 100]
    paths = []
    for index, size in enumerate(sizes):
        path = tmp_path / f"file-{index}"
        path.write_bytes(bytes([index + 1]) * size)
        paths.append(path)
    result = hash_files(paths, ["sha256", "blake3"], None, workers=workers)
    assert list(result.digests) == paths
    assert result.files_read == len(paths)
    for path in paths:
        data = path.read_bytes()
        assert result.digests[path]["sha256"] == hashlib.sha256(data).hexdigest()
        assert result.digests[path]["blake3"] == blake3(data).hexdigest()


def test_batch_lookup_answers_exactly_like_one_lookup_per_file(tmp_path: Path) -> None:
    """lookup_many (the no-op plan's path) agrees with lookup on every case, loaded or fresh."""
    same, edited, grown, unhashed = (tmp_path / n for n in ("same", "edited", "grown", "new"))
    for path in (same, edited, grown, unhashed):
        path.write_bytes(b"0123456789")
    cache_file = tmp_path / "hashes.json"
    cache = HashCache(cache_file)
    hash_files([same, edited, grown], ["blake3"], cache)
    cache.save()
    edited.write_bytes(b"9876543210")  # same size, new mtime
    os.utime(edited, ns=(1, 1))
    grown.write_bytes(b"0123456789+")
    paths = [same, edited, grown, unhashed, str(same)]
    for loaded in (HashCache(cache_file), cache):  # raw JSON entries, then parsed ones
        for algorithms in (["blake3"], ["BLAKE3"], ["blake3", "sha256"]):
            stats = [os.stat(p) for p in paths]
            expected = [loaded.lookup(p, s, algorithms) for p, s in zip(paths, stats, strict=True)]
            assert loaded.lookup_many(paths, stats, algorithms) == expected
            hits = [found is not None for found in expected]
            assert hits == (
                [True, False, False, False, True] if len(algorithms) == 1 else [False] * 5
            )


def _rows_committed(cache_file: Path) -> int:
    """Entries another process would see in the cache file."""
    if not cache_file.exists():
        return 0
    with contextlib.closing(sqlite3.connect(cache_file)) as db:
        return int(db.execute("SELECT count(*) FROM files").fetchone()[0])


def test_cached_hasher_commits_every_few_files_and_on_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New digests are committed every _SAVE_AFTER files hashed (a commit writes only the
    new rows) and when the run ends; a run killed in between re-hashes only the rest."""
    monkeypatch.setattr(hashing, "_SAVE_AFTER", 2)
    paths = []
    for index in range(7):
        path = tmp_path / f"f{index}"
        path.write_bytes(b"x" * index)
        paths.append(str(path))
    cache_file = tmp_path / "cache.sqlite"
    hasher = CachedHasher(cache_file)
    # files hashed in this call -> entries committed after it
    steps = [(paths[0:1], 0), (paths[1:2], 2), (paths[2:3], 2), (paths[3:4], 4), (paths[4:7], 7)]
    for batch, expected in steps:
        hasher.digests(batch, ["blake3"])
        assert _rows_committed(cache_file) == expected, (batch, expected)
    hasher.digests(paths, ["blake3"], [os.stat(p) for p in paths])  # all cached: no write
    assert hasher.files_read == 7
    extra = tmp_path / "extra"
    extra.write_bytes(b"extra")
    hasher.digests([str(extra)], ["blake3"])
    assert _rows_committed(cache_file) == 7
    hasher.flush()  # what scisync.api.connect does when the run ends
    assert _rows_committed(cache_file) == 8
    again = CachedHasher(cache_file)
    everything = [*paths, str(extra)]
    again.digests(everything, ["blake3"], [os.stat(p) for p in everything])
    assert again.files_read == 0


def _break_version(cache_file: Path) -> None:
    with contextlib.closing(sqlite3.connect(cache_file)) as db:
        db.execute("PRAGMA user_version = 99")
        db.commit()


def _break_row_types(cache_file: Path) -> None:
    with contextlib.closing(sqlite3.connect(cache_file)) as db:
        db.execute("UPDATE files SET blake3 = 42")
        db.commit()


def _break_bytes(cache_file: Path) -> None:
    data = bytearray(cache_file.read_bytes())
    data[:100] = b"\xff" * 100  # the header SQLite checks
    cache_file.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda f: f.write_text('{"entries": {}, "version": 1}'), id="old-json-cache"),
        pytest.param(lambda f: f.write_bytes(b""), id="empty-file"),
        pytest.param(lambda f: f.write_text("{not json"), id="garbage"),
        pytest.param(_break_bytes, id="damaged-header"),
        pytest.param(_break_version, id="other-version"),
        pytest.param(_break_row_types, id="row-edited-to-hold-a-number"),
    ],
)
def test_a_damaged_or_foreign_cache_only_costs_a_reread(tmp_path: Path, damage: Any) -> None:
    """Whatever is in the cache file, a run hashes what it cannot vouch for and goes on;
    a digest never comes from a row that does not hold one."""
    paths = make_files(tmp_path, 3)
    cache_file = tmp_path / "state" / "hashes.sqlite"
    cache = HashCache(cache_file)
    first = hash_files(paths, ["blake3"], cache)
    cache.close()
    damage(cache_file)
    again = HashCache(cache_file)
    second = hash_files(paths, ["blake3"], again)
    assert second.files_read == 3
    assert second.digests == first.digests
    again.close()
    assert hash_files(paths, ["blake3"], HashCache(cache_file)).files_read == 0


def test_a_cache_locked_by_another_run_is_skipped_not_fatal(tmp_path: Path) -> None:
    paths = make_files(tmp_path, 2)
    cache_file = tmp_path / "hashes.sqlite"
    HashCache(cache_file).close()
    with contextlib.closing(sqlite3.connect(cache_file)) as other:
        other.execute("BEGIN EXCLUSIVE")  # another scisync in the middle of a commit
        cache = HashCache(cache_file)
        cache._db.execute("PRAGMA busy_timeout = 50")  # type: ignore[union-attr]
        result = hash_files(paths, ["blake3"], cache)
        assert result.files_read == 2
        assert result.digests[paths[0]]["blake3"] == hash_file(paths[0], ["blake3"])["blake3"]
        cache.save()


def test_stamps_past_signed_64_bits_are_kept_and_compared(tmp_path: Path) -> None:
    """An inode (or time) SQLite cannot hold as it is is wrapped, on store and on lookup alike."""
    path = make_files(tmp_path, 1)[0]
    real = os.stat(path)
    fields = list(real)
    fields[1] = 2**64 - 5  # st_ino
    times = {name: getattr(real, name) for name in ("st_mtime_ns", "st_ctime_ns")}
    huge = os.stat_result(fields, times)
    cache = HashCache(tmp_path / "hashes.sqlite")
    cache.store(str(path), huge, {"blake3": "ab" * 32}, racy.now_ns())
    assert cache.lookup(str(path), huge, ["blake3"]) == {"blake3": "ab" * 32}
    assert cache.lookup(str(path), real, ["blake3"]) is None


def _link_elsewhere(path: Path) -> None:
    os.link(path, path.with_name(path.name + ".linked"))


def _append_a_byte(path: Path) -> None:
    with path.open("ab") as out:
        out.write(b"!")


def _set_mtime_back(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))


def _replace_with_a_copy(path: Path) -> None:
    copy = path.with_name(path.name + ".copy")
    shutil.copy2(path, copy)
    os.replace(copy, path)


@pytest.mark.parametrize(
    ("between", "hashed_before", "carried"),
    [
        (_link_elsewhere, True, True),  # what hardlink: true does: only the ctime moved
        (_link_elsewhere, False, False),  # no entry for the stat before: nothing to carry
        (_append_a_byte, True, False),  # the size moved
        (_set_mtime_back, True, False),  # the mtime moved
        (_replace_with_a_copy, True, False),  # another inode under the name
    ],
)
def test_an_entry_follows_only_a_link_that_moved_nothing_but_the_ctime(
    tmp_path: Path, between: Callable[[Path], None], hashed_before: bool, carried: bool
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"content")
    hasher = CachedHasher(tmp_path / "cache.json")
    if hashed_before:
        hasher.digests([path], ["blake3", "sha256"], [path.stat()])
    before = path.stat()
    between(path)
    after = path.stat()
    assert after.st_ctime_ns != before.st_ctime_ns  # every case moves the ctime
    hasher.follow_link(path, before, after, ["blake3", "sha256"])
    read_before = hasher.files_read
    found = hasher.digests([path], ["blake3", "sha256"], [after])
    assert (hasher.files_read == read_before) == carried
    assert found[0]["blake3"] == blake3(path.read_bytes()).hexdigest()


def _edit_same_size(path: Path) -> None:
    path.write_bytes(path.read_bytes().upper())


def _nothing(path: Path) -> None:
    pass


@pytest.mark.parametrize(
    ("hashed", "between", "digest_of", "vouched"),
    [
        (True, _nothing, "hashed", True),  # hashed under this very stat, same digest
        (True, _nothing, "other", False),  # a digest the file was never hashed to
        (False, _nothing, "hashed", False),  # never hashed in this cache
        (True, _edit_same_size, "hashed", False),  # edited since: the stamp moved
        (True, _append_a_byte, "hashed", False),
        (True, _set_mtime_back, "hashed", False),
        (True, _replace_with_a_copy, "hashed", False),
    ],
)
def test_the_cache_vouches_only_for_the_stamp_and_digest_it_hashed(
    tmp_path: Path,
    hashed: bool,
    between: Callable[[Path], None],
    digest_of: str,
    vouched: bool,
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"content")
    digest = blake3(b"content").hexdigest()
    hasher = CachedHasher(tmp_path / "cache.sqlite")
    if hashed:
        hasher.digests([path], ["blake3"], [path.stat()])
    between(path)
    asked = digest if digest_of == "hashed" else blake3(b"other").hexdigest()
    assert hasher.voucher([path], [asked])(0, path.stat()) is vouched
    assert hasher.files_read == (1 if hashed else 0)  # vouching reads nothing
