"""The published JSON Schemas (package data), loaded once and shared.

The same files are linked from the repository's top-level ``schemas/`` folder, where
editors and other tools find them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, cast

from scisync._util.jsonpos import locate
from scisync._util.jsontypes import Json, JsonObject
from scisync._util.schemacheck import Check, compile_check

if TYPE_CHECKING:
    import jsonschema


def _file_name(name: str) -> str:
    return name if name.endswith(".schema.json") else f"{name}.schema.json"


@cache
def _load(file_name: str) -> JsonObject:
    text = resources.files(__name__).joinpath(file_name).read_text(encoding="utf-8")
    return cast(JsonObject, json.loads(text))


def load_schema(name: str) -> JsonObject:
    """The schema ``name`` ("lock", "plan", ... or "lock.schema.json"); parsed once, cached.

    Callers must not mutate the returned dict: it is shared.
    """
    return _load(_file_name(name))


@dataclass(frozen=True)
class SchemaViolation:
    """One way an instance fails its schema: where (a JSON path such as ``$.a[0].b``) and what."""

    path: str
    message: str
    parts: tuple[str | int, ...] = ()  # the path as keys and indexes, for jsonpos.locate


@cache
def _validator(file_name: str) -> jsonschema.protocols.Validator:
    # imported here: a plan whose inputs pass the fast checks never needs jsonschema
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_load(file_name))


@cache
def _fast_check(file_name: str) -> Check | None:
    return compile_check(_load(file_name))


def schema_violations(name: str, instance: Json) -> list[SchemaViolation]:
    """Every way *instance* fails schema ``name``, sorted by path (empty when valid).

    The compiled check (scisync._util.schemacheck, never more lenient than jsonschema)
    answers first: a valid document (the lockfile on every plan) needs no jsonschema."""
    check = _fast_check(_file_name(name))
    if check is not None and check(instance):
        return []
    found = []
    for error in _validator(_file_name(name)).iter_errors(instance):
        parts = tuple(error.absolute_path)
        found.append(SchemaViolation(path=json_path(parts), message=error.message, parts=parts))
    return sorted(found, key=lambda violation: violation.path)


def json_path(parts: Iterable[str | int]) -> str:
    """``["a", 0, "b"]`` -> ``$.a[0].b``."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def violation_where(source: str, violation: SchemaViolation, text: str | None) -> str:
    """``source:line:col: $.json.path`` when *text* is given and the path is found in it,
    else ``source: $.json.path``."""
    if text is not None:
        position = locate(text, violation.parts)
        if position is not None:
            return f"{source}:{position[0]}:{position[1]}: {violation.path}"
    return f"{source}: {violation.path}"
