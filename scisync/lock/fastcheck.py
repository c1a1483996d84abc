"""Checking a lockfile against its schema quickly.

jsonschema walks every file entry of every dataset (100,000 entries take seconds); the
entries all have one small shape.  So the file lists, and the entries of datasets,
downloads and samples, are checked by compiled equivalents of the schema's definitions
(patterns and keys read from the schema itself), the rest of the document by jsonschema.
Only when something fails is the full schema run, to name the problem exactly as
jsonschema would.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import cast

from scisync._util.jsontypes import Json, JsonObject
from scisync.schemas import SchemaViolation, load_schema, schema_violations

_SECTIONS_WITH_FILES = ("datasets", "downloads")


@cache
def _file_rules() -> tuple[frozenset[str], frozenset[str], dict[str, re.Pattern[str]]]:
    schema = load_schema("lock")
    definitions = cast(JsonObject, schema["$defs"])
    file_schema = cast(JsonObject, definitions["file"])
    properties = cast(JsonObject, file_schema["properties"])
    relative = cast(JsonObject, definitions["relativePath"])
    patterns = {"path": re.compile(cast(str, relative["pattern"]))}
    for name in ("blake3", "checksum"):
        patterns[name] = re.compile(cast(str, cast(JsonObject, properties[name])["pattern"]))
    allowed = frozenset(properties)
    required = frozenset(cast(list[str], file_schema["required"]))
    return allowed, required, patterns


def file_entry_valid(entry: Json) -> bool:
    """Whether one file entry satisfies the schema's ``file`` definition."""
    allowed, required, _ = _file_rules()
    if not isinstance(entry, dict) or not required <= entry.keys() <= allowed:
        return False
    checksum = entry.get("checksum")
    if checksum is None and "checksum" in entry:  # present but null: not a string
        return False
    return file_fields_valid(entry["path"], entry["size"], entry["blake3"], checksum)


def file_fields_valid(path: object, size: object, blake3: object, checksum: object) -> bool:
    """The schema's ``file`` rule on one file's fields (``checksum`` None when it has
    none): the reader checks each entry with it, the writer each file it emits."""
    _, _, patterns = _file_rules()
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return False
    if not isinstance(path, str):
        return False
    if "\n" in path:  # where `.` and `$` get subtle: ask the schema's own pattern
        if patterns["path"].search(path) is None:
            return False
    elif not _relative_path_valid(path):
        return False
    if not isinstance(blake3, str):
        return False
    if "\n" in blake3:  # `$` matches before a final newline: ask the pattern itself
        if patterns["blake3"].search(blake3) is None:
            return False
    elif not blake3 or blake3.strip(_HEX_DIGITS):
        return False
    if checksum is None:
        return True
    if not isinstance(checksum, str):
        return False
    if "\n" in checksum:
        return patterns["checksum"].search(checksum) is not None
    algorithm, colon, value = checksum.partition(":")
    return bool(algorithm and colon and value)


_HEX_DIGITS = "0123456789abcdef"  # the schema's blake3 pattern ^[0-9a-f]+$, as a strip
_HEX_BYTES = _HEX_DIGITS.encode()  # the same, as bytes.translate deletes (faster for many)


def _relative_path_valid(path: str) -> bool:
    """The schema's relativePath pattern, as string tests (the regex's lookaheads are slow).
    test_fastcheck checks both agree."""
    if not path or path[0] == "/" or path[-1] == "/" or "\\" in path or "//" in path:
        return False
    wrapped = f"/{path}/"
    return "/./" not in wrapped and "/../" not in wrapped


# Every way a path breaks the relativePath rule, as it shows in the paths joined by line
# breaks with one before and after: an empty, "." or ".." segment, a backslash.
_BAD_IN_JOINED_PATHS = (
    *(
        f"{before}{segment}{after}"
        for segment in ("", ".", "..")
        for before in ("\n", "/")
        for after in ("\n", "/")
    ),
    "\\",
)


def files_columns_valid(
    paths: Sequence[object],
    sizes: Sequence[object],
    digests: Sequence[object],
    checksums: Sequence[object],
) -> bool:
    """:func:`file_fields_valid` for many files at once (the common case checked in C);
    False may be wrong (a line break in a value): then ask file_fields_valid one by one.
    ``checksums`` holds only the files that have one."""
    if not paths:
        return True
    if {type(path) for path in paths} != {str}:  # exact types: JSON has no subclasses
        return False
    joined = "\n".join(cast(Sequence[str], paths))
    if joined.count("\n") != len(paths) - 1:
        return False  # a line break in a path: only the schema's pattern can say
    wrapped = f"\n{joined}\n"
    if any(bad in wrapped for bad in _BAD_IN_JOINED_PATHS):
        return False
    if {type(size) for size in sizes} != {int} or min(cast(Sequence[int], sizes)) < 0:
        return False
    if {type(digest) for digest in digests} != {str} or not all(digests):
        return False
    hex_digits = "".join(cast(Sequence[str], digests))
    if not hex_digits.isascii() or hex_digits.encode().translate(None, _HEX_BYTES):
        return False
    if checksums and {type(checksum) for checksum in checksums} != {str}:
        return False
    return all(map(_CHECKSUM_SHAPE.fullmatch, cast(Sequence[str], checksums)))


_CHECKSUM_SHAPE = re.compile(r"[^:\n]+:[^\n]+")  # the schema's ^[^:]+:.+$ without line breaks


@cache
def _entry_keys() -> dict[str, frozenset[str]]:
    """The keys of each section's entries (all required in the schema), read from it."""
    definitions = cast(JsonObject, load_schema("lock")["$defs"])
    keys = {}
    for section, name in (
        ("datasets", "dataset"),
        ("downloads", "download"),
        ("samples", "sample"),
    ):
        definition = cast(JsonObject, definitions[name])
        keys[section] = frozenset(cast(list[str], definition["required"]))
        assert keys[section] == frozenset(cast(JsonObject, definition["properties"]))
    return keys


def _text(value: Json) -> bool:
    """The schema's ``{"type": "string", "minLength": 1}``."""
    return isinstance(value, str) and value != ""


def _attachment_valid(item: Json) -> bool:
    if not isinstance(item, dict) or item.keys() != {"caption", "id", "blake3"}:
        return False
    blake3 = item["blake3"]
    return (
        isinstance(item["caption"], str)
        and _text(item["id"])
        and isinstance(blake3, str)
        and bool(blake3)
        and not blake3.strip(_HEX_DIGITS)
    )


def entry_valid(section: str, entry: Json) -> bool:
    """Whether one entry of ``datasets``, ``downloads`` or ``samples`` satisfies its schema
    definition, its ``files`` (if any) aside: checked file by file.  test_fastcheck checks
    this agrees with jsonschema."""
    if not isinstance(entry, dict) or entry.keys() != _entry_keys()[section]:
        return False
    if section == "samples":
        return _text(entry["sample_id"]) and _text(entry["fields_digest"])
    if not (_text(entry["pid"]) and isinstance(entry["files"], list)):
        return False
    if section == "downloads":
        return True
    attachments, supersedes = entry["attachments"], entry["supersedes"]
    return (
        _text(entry["fields_digest"])
        and isinstance(attachments, list)
        and all(map(_attachment_valid, attachments))
        and isinstance(supersedes, list)
        and all(map(_text, supersedes))
    )


def lock_violations(data: Json) -> list[SchemaViolation]:
    """What :func:`scisync.schemas.schema_violations` says for the lock schema, fast:
    entries and files by the compiled checks above, the rest by jsonschema, and all of it
    by jsonschema when anything fails (to name the problem exactly as it would)."""
    if not isinstance(data, dict):
        return schema_violations("lock", data)
    skeleton: JsonObject = dict(data)
    files: list[Json] = []
    for section in ("datasets", "downloads", "samples"):
        value = data.get(section)
        if not isinstance(value, dict):
            continue
        left: JsonObject = {}
        for key, entry in value.items():
            if not entry_valid(section, entry):
                left[key] = entry  # jsonschema will say what is wrong
            elif section in _SECTIONS_WITH_FILES:
                files.extend(cast(list[Json], cast(JsonObject, entry)["files"]))
        skeleton[section] = left
    if schema_violations("lock", skeleton) or not all(map(file_entry_valid, files)):
        return schema_violations("lock", data)  # slow, but names the problem exactly
    return []
