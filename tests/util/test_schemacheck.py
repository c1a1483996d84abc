"""The compiled schema check is never more lenient than jsonschema.

validate_document trusts a "valid" answer and runs jsonschema only on "invalid", so a
document the check accepts must be one jsonschema accepts: proven on a table of cases per
keyword (JSON Schema's corner cases: 1 vs True, 1.0 as an integer, NaN) and on every
manifest of the bad-manifest corpus and the examples.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scisync._util.schemacheck import compile_check
from scisync.manifest.problems import Problems
from scisync.manifest.schema import manifest_schema
from scisync.manifest.yaml_nodes import load_file

ROOT = Path(__file__).resolve().parents[2]

# (schema, instance, whether JSON Schema accepts it)
CASES: list[tuple[dict[str, Any], Any, bool]] = [
    ({"type": "integer"}, 3, True),
    ({"type": "integer"}, 3.0, True),
    ({"type": "integer"}, 3.5, False),
    ({"type": "integer"}, True, False),
    ({"type": "number"}, False, False),
    ({"type": ["string", "null"]}, None, True),
    ({"type": "boolean"}, 0, False),
    ({"type": "object"}, [], False),
    ({"type": "array"}, {}, False),
    ({"enum": ["a", "b"]}, "b", True),
    ({"enum": ["a", "b"]}, "c", False),
    ({"enum": [1, 2]}, True, False),
    ({"enum": [1, None]}, None, True),
    ({"enum": [True]}, 1, False),
    ({"const": 1}, True, False),
    ({"const": 1}, 1, True),
    ({"const": "x"}, "y", False),
    ({"pattern": "^a"}, "ab", True),
    ({"pattern": "b"}, "ab", True),  # search, not match
    ({"pattern": "^a"}, "ba", False),
    ({"pattern": "^a"}, 5, True),  # only strings are constrained
    ({"minLength": 2}, "é", False),
    ({"maxLength": 1}, "é", True),
    ({"minimum": 1}, 1, True),
    ({"minimum": 1}, 0.5, False),
    ({"exclusiveMinimum": 0}, 0, False),
    ({"exclusiveMaximum": 0}, -1, True),
    ({"minimum": 1}, "0", True),
    ({"required": ["a"]}, {"b": 1}, False),
    ({"required": ["a"]}, [], True),
    ({"properties": {"a": {"type": "string"}}}, {"a": 1}, False),
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"b": 1}, False),
    ({"properties": {"a": {}}, "additionalProperties": {"type": "integer"}}, {"b": 1}, True),
    ({"properties": {"a": {}}, "additionalProperties": {"type": "integer"}}, {"b": "1"}, False),
    ({"minProperties": 1, "maxProperties": 1}, {}, False),
    ({"minProperties": 1, "maxProperties": 1}, {"a": 1, "b": 2}, False),
    ({"items": {"type": "string"}, "minItems": 1, "maxItems": 2}, ["a"], True),
    ({"items": {"type": "string"}}, ["a", 1], False),
    ({"minItems": 1}, [], False),
    ({"maxItems": 1}, [1, 2], False),
    ({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"a": 1, "b": 1}, False),
    ({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"b": 1}, True),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, 1.5, False),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, "a", False),
    ({"$defs": {"n": {"type": "integer"}}, "items": {"$ref": "#/$defs/n"}}, [1, "2"], False),
    (
        {
            "$defs": {"t": {"type": "object", "properties": {"next": {"$ref": "#/$defs/t"}}}},
            "$ref": "#/$defs/t",
        },
        {"next": {"next": {"next": 1}}},
        False,
    ),
    (
        {
            "$defs": {"t": {"type": "object", "properties": {"next": {"$ref": "#/$defs/t"}}}},
            "$ref": "#/$defs/t",
        },
        {"next": {"next": {}}},
        True,
    ),
]


@pytest.mark.parametrize(("schema", "instance", "accepted"), CASES)
def test_the_check_agrees_with_json_schema(
    schema: dict[str, Any], instance: Any, accepted: bool
) -> None:
    check = compile_check(schema)
    assert check is not None
    assert Draft202012Validator(schema).is_valid(instance) is accepted  # the table is right
    # "valid" only where jsonschema says valid; on these plain cases it also says "invalid"
    # exactly where jsonschema does
    assert check(instance) is accepted


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_a_bound_on_nan_or_infinity_is_left_to_jsonschema(number: float) -> None:
    check = compile_check({"minimum": 1, "maximum": 2})
    assert check is not None
    assert check(number) is False  # "invalid": jsonschema decides (and says what)


@pytest.mark.parametrize(
    "schema",
    [
        {"format": "email"},
        {"patternProperties": {"^a": {}}, "additionalProperties": False},
        {"prefixItems": [{}], "items": False},
        {"$ref": "https://example.org/schema"},
        {"if": {}, "then": {}},
        {"enum": [[1]]},
        {"unevaluatedProperties": False},
        {"ref": "#/$defs/x"},  # not a keyword; jsonschema ignores it, so must we not guess
    ],
)
def test_a_keyword_it_does_not_implement_gives_no_check(schema: dict[str, Any]) -> None:
    """The caller then validates with jsonschema alone: never a silent "valid"."""
    assert compile_check(schema) is None


def test_the_manifest_schema_compiles() -> None:
    """Else every manifest would take the slow path (correct, but 10 s at 10,000 datasets)."""
    assert compile_check(manifest_schema()) is not None


MANIFESTS = sorted((ROOT / "tests" / "manifest" / "bad").glob("*.yaml")) + sorted(
    (ROOT / "manifests.example").rglob("scisync*.yaml")
)


def documents() -> list[tuple[str, Any]]:
    """Each manifest as the pipeline parses it (ruamel, duplicate keys refused); the corpus
    cases that are not YAML at all never reach the schema and are left out."""
    found = []
    for path in MANIFESTS:
        node = load_file(path, Problems())
        if node is not None:
            found.append((f"{path.parent.name}/{path.stem}", node.to_plain()))
    return found


DOCUMENTS = documents()


def test_most_of_the_corpus_reaches_the_schema() -> None:
    assert len(DOCUMENTS) >= len(MANIFESTS) - 10


@pytest.mark.parametrize(("name", "document"), DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_manifests_the_check_accepts_are_ones_jsonschema_accepts(name: str, document: Any) -> None:
    check = compile_check(manifest_schema())
    assert check is not None
    errors = list(Draft202012Validator(manifest_schema()).iter_errors(document))
    if errors:
        assert not check(document), "the check accepted a document jsonschema rejects"
    if name.startswith("manifests.example/"):
        assert check(document), "an example manifest takes the fast path"
