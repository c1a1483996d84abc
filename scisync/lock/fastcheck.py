"""Checking a lockfile against its schema quickly.

jsonschema walks every file entry of every dataset (100,000 entries take seconds); the
entries all have one small shape.  So the file lists are checked by a compiled
equivalent of the schema's ``file`` definition (its patterns are read from the schema
itself), the rest of the document by jsonschema.  Only when something fails is the full
schema run, to name the problem exactly as jsonschema would.
"""

from __future__ import annotations

import re
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
    allowed, required, patterns = _file_rules()
    if not isinstance(entry, dict) or not required <= entry.keys() <= allowed:
        return False
    size = entry["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return False
    path = entry["path"]
    if not isinstance(path, str):
        return False
    if "\n" in path:  # where `.` and `$` get subtle: ask the schema's own pattern
        if patterns["path"].search(path) is None:
            return False
    elif not _relative_path_valid(path):
        return False
    blake3 = entry["blake3"]
    if not isinstance(blake3, str):
        return False
    if "\n" in blake3:  # `$` matches before a final newline: ask the pattern itself
        if patterns["blake3"].search(blake3) is None:
            return False
    elif not blake3 or blake3.strip(_HEX_DIGITS):
        return False
    if "checksum" in entry:
        checksum = entry["checksum"]
        if not isinstance(checksum, str):
            return False
        if "\n" in checksum:
            return patterns["checksum"].search(checksum) is not None
        algorithm, colon, value = checksum.partition(":")
        if not (algorithm and colon and value):
            return False
    return True


_HEX_DIGITS = "0123456789abcdef"  # the schema's blake3 pattern ^[0-9a-f]+$, as a strip


def _relative_path_valid(path: str) -> bool:
    """The schema's relativePath pattern, as string tests (the regex's lookaheads are slow).
    test_fastcheck checks both agree."""
    if not path or path[0] == "/" or path[-1] == "/" or "\\" in path or "//" in path:
        return False
    wrapped = f"/{path}/"
    return "/./" not in wrapped and "/../" not in wrapped


def lock_violations(data: Json) -> list[SchemaViolation]:
    """What :func:`scisync.schemas.schema_violations` says for the lock schema, fast."""
    if not isinstance(data, dict):
        return schema_violations("lock", data)
    skeleton: JsonObject = dict(data)
    entries: list[Json] = []
    for section in _SECTIONS_WITH_FILES:
        value = data.get(section)
        if not isinstance(value, dict):
            continue
        stripped: JsonObject = {}
        for key, entry in value.items():
            if isinstance(entry, dict) and isinstance(entry.get("files"), list):
                entries.extend(cast(list[Json], entry["files"]))
                entry = {**entry, "files": []}
            stripped[key] = entry
        skeleton[section] = stripped
    if schema_violations("lock", skeleton) or not all(map(file_entry_valid, entries)):
        return schema_violations("lock", data)  # slow, but names the problem exactly
    return []
