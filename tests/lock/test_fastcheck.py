"""The fast lockfile check must agree with jsonschema on every file entry it sees."""

from __future__ import annotations

import itertools
import json

import jsonschema
import pytest

from scisync._util.jsontypes import Json
from scisync._util.names import local_name_problem
from scisync.errors import LockfileError
from scisync.lock.consistency import check_file_tree
from scisync.lock.fastcheck import (
    entry_valid,
    file_entry_valid,
    files_columns_valid,
    lock_violations,
)
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


def _section_entries() -> list[tuple[str, Json]]:
    good_attachment: Json = {"caption": "c", "id": "a1", "blake3": "ab"}
    dataset: dict[str, Json] = {
        "pid": "p",
        "fields_digest": "d",
        "files": [],
        "attachments": [good_attachment],
        "supersedes": ["old"],
    }
    variants: list[tuple[str, Json]] = [("datasets", dataset)]
    for key, bad in [
        ("pid", ""),
        ("pid", 3),
        ("fields_digest", ""),
        ("files", {}),
        ("attachments", [{"caption": "c", "id": "", "blake3": "ab"}]),
        ("attachments", [{"caption": 1, "id": "a", "blake3": "ab"}]),
        ("attachments", [{"caption": "c", "id": "a", "blake3": "AB"}]),
        ("attachments", [{"caption": "c", "id": "a", "blake3": "ab\n"}]),
        ("attachments", [{"caption": "c", "id": "a"}]),
        ("attachments", "x"),
        ("supersedes", [""]),
        ("supersedes", [1]),
        ("supersedes", "p"),
        ("extra", 1),
    ]:
        variants.append(("datasets", {**dataset, key: bad}))
    variants.append(("datasets", {k: v for k, v in dataset.items() if k != "supersedes"}))
    download: dict[str, Json] = {"pid": "p", "files": []}
    variants += [
        ("downloads", download),
        ("downloads", {**download, "pid": ""}),
        ("downloads", {**download, "files": None}),
        ("downloads", {"pid": "p"}),
        ("downloads", {**download, "extra": []}),
        ("samples", {"sample_id": "s", "fields_digest": "d"}),
        ("samples", {"sample_id": "", "fields_digest": "d"}),
        ("samples", {"sample_id": "s", "fields_digest": 4}),
        ("samples", {"sample_id": "s"}),
        ("samples", []),
    ]
    return variants


def test_entry_check_never_passes_what_the_schema_refuses() -> None:
    """entry_valid may send an entry to jsonschema needlessly (a digest ending in a line
    break), never let a bad one through."""
    for section, entry in _section_entries():
        lock: Json = {"version": 1, "project": "p", "datasets": {}, "samples": {}, "downloads": {}}
        lock[section] = {"k": entry}  # type: ignore[index]
        schema_ok = schema_violations("lock", lock) == []
        if entry_valid(section, entry):
            assert schema_ok, (section, entry)
        assert (lock_violations(lock) == []) == schema_ok, (section, entry)


def test_file_columns_check_agrees_with_the_entry_check() -> None:
    """files_columns_valid on one file says what file_entry_valid says, but may refuse
    (and send to the one-by-one check) a value with a line break."""
    for entry in _entries():
        if not isinstance(entry, dict) or not {"path", "size", "blake3"} <= entry.keys():
            continue
        if set(entry) - {"path", "size", "blake3", "checksum"}:
            continue
        checksum = entry.get("checksum")
        if "checksum" in entry and checksum is None:
            continue
        columns = files_columns_valid(
            [entry["path"]],
            [entry["size"]],
            [entry["blake3"]],
            [] if checksum is None else [checksum],
        )
        if columns:
            assert file_entry_valid(entry), entry
        elif "\n" not in json.dumps(entry).replace("\\n", "\n"):
            assert not file_entry_valid(entry), entry


@pytest.mark.parametrize(
    "paths",
    [
        ["a", "b/c"],
        ["a\tb"],
        ["a\u2028"],
        ["C:x"],
        ["run:1/x"],
        ["a\\b"],
        ["x" * 256],
        ["d/" + "x" * 255],
        ["ü" * 200],
        ["\udcff"],
    ],
)
def test_the_names_check_of_a_list_is_local_name_problem_of_each(paths: list[str]) -> None:
    def where() -> str:
        return "here"

    expected = next((p for p in paths if local_name_problem(p) is not None), None)
    if expected is None:
        check_file_tree(paths, where)
        return
    with pytest.raises(LockfileError) as raised:
        check_file_tree(paths, where)
    assert str(local_name_problem(expected)) in str(raised.value)
