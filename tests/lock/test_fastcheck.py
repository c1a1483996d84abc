"""The fast lockfile check must agree with jsonschema on every file entry it sees."""

from __future__ import annotations

import itertools

import jsonschema
import pytest

from scisync._util.jsontypes import Json
from scisync.lock.fastcheck import file_entry_valid, lock_violations
from scisync.schemas import load_schema, schema_violations

PATHS: list[Json] = [
    "a.h5",
    "dir/b.h5",
    "",
    "/abs",
    "../up",
    "a/../b",
    "a//b",
    "a/",
    ".",
    "a\\b",
    3,
]
SIZES: list[Json] = [0, 17, -1, 1.5, True, "3", None]
DIGESTS: list[Json] = ["ab12", "AB12", "", "xyz", 5, "ab\n", "a b", " ab"]
CHECKSUMS: list[Json] = ["sha256:ab", "nocolon", ":x", "x:", "a:b:c", "a:\n", "a:b\n", 7, None]


def _entries() -> list[Json]:
    found: list[Json] = []
    for path, size, digest, checksum in itertools.product(PATHS, SIZES, DIGESTS, CHECKSUMS):
        entry: dict[str, Json] = {"path": path, "size": size, "blake3": digest}
        if checksum is not None:
            entry["checksum"] = checksum
        found.append(entry)
    found += [
        {"path": "a", "size": 1},
        {"path": "a", "size": 1, "blake3": "ab", "extra": 1},
        [],
        "x",
    ]
    return found


def test_file_entry_check_agrees_with_the_schema() -> None:
    schema = load_schema("lock")
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/file"})
    disagreements = [
        entry for entry in _entries() if file_entry_valid(entry) != validator.is_valid(entry)
    ]
    assert disagreements == []


@pytest.mark.parametrize("bad", [{"path": "../x", "size": 1, "blake3": "ab"}, {"path": "x"}])
def test_a_bad_entry_deep_in_a_lock_is_named_like_jsonschema_names_it(bad: Json) -> None:
    files = [{"path": f"f{i}", "size": i, "blake3": "ab"} for i in range(50)] + [bad]
    lock: Json = {
        "version": 1,
        "project": "p",
        "datasets": {
            "d": {
                "pid": "p/1",
                "fields_digest": "x",
                "files": files,
                "attachments": [],
                "supersedes": [],
            }
        },
        "samples": {},
        "downloads": {},
    }
    assert lock_violations(lock) == schema_violations("lock", lock) != []
