"""The published JSON Schema: valid, up to date, described, shipped, and used by editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from scisync.manifest.fields import DATASET_FIELDS, SAMPLE_FIELDS
from scisync.manifest.schema import SCHEMA_PATH, schema_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "manifests.example").glob("*/scisync.yaml"))


def committed() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(committed())
    assert committed()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "regenerate with: python -m scisync.manifest"
    )


def test_top_level_schema_is_a_symlink_to_the_packaged_one() -> None:
    top = ROOT / "schemas" / "manifest.schema.json"
    assert top.is_symlink()
    assert top.resolve() == SCHEMA_PATH.resolve()
    assert SCHEMA_PATH.parent == ROOT / "scisync" / "schemas"


def _properties(node: Any, path: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            found.append((f"{path}.{name}", sub))
        for key, sub in node.items():
            found.extend(_properties(sub, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            found.extend(_properties(sub, f"{path}[{index}]"))
    return found


def test_every_field_has_a_description_and_objects_are_strict() -> None:
    schema = committed()
    props = _properties(schema)
    assert len(props) > 100
    missing = [path for path, sub in props if "description" not in sub]
    assert not missing
    free_form = {
        "vars",
        "scientific_metadata",
        "job_parameters",
        "sample_characteristics",
        "metadata",
    }
    for path, sub in props:
        if isinstance(sub, dict) and "object" in str(sub.get("type")):
            if path.rsplit(".", 1)[-1] in free_form:
                continue
            assert sub.get("additionalProperties") is False or "$ref" in sub, path


def test_every_table_field_is_in_the_schema() -> None:
    defs = committed()["$defs"]
    for field in DATASET_FIELDS:
        assert defs["dataset"]["properties"][field.name]["description"].startswith(
            field.description
        )
    for field in SAMPLE_FIELDS:
        assert field.name in defs["sample"]["properties"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.parent.name for e in EXAMPLES])
def test_examples_as_written_pass_the_schema(example: Path) -> None:
    """What an editor sees (templates unrendered) raises no schema complaint."""
    document = YAML(typ="safe").load(example.read_text(encoding="utf-8"))
    # unquoted timestamps load as datetimes with the safe loader; editors see strings
    text = json.dumps(document, default=str)
    errors = list(Draft202012Validator(committed()).iter_errors(json.loads(text)))
    assert not errors, [e.message for e in errors]
    assert example.read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=../../schemas/manifest.schema.json"
    )


def test_table_names_are_unique_and_well_formed() -> None:
    names = [field.name for field in DATASET_FIELDS]
    assert len(names) == len(set(names))
    for field in DATASET_FIELDS:
        assert field.name == field.name.lower() and " " not in field.name
        assert field.scicat[0].islower() and "_" not in field.scicat
        assert field.types, field.name
        if field.singular:
            assert field.scicat.endswith("s"), "a singular name maps to a v4 array"


def test_committed_field_reference_is_up_to_date() -> None:
    from scisync.manifest.docgen import DOC_PATH, field_reference

    assert DOC_PATH == ROOT / "docs" / "manifest-fields.md"
    assert DOC_PATH.read_text(encoding="utf-8") == field_reference(), (
        "regenerate with: python -m scisync.manifest"
    )
    for field in DATASET_FIELDS:
        assert f"| `{field.name}` | `{field.scicat}` |" in field_reference()


def test_schema_is_package_data() -> None:
    from importlib.resources import files

    shipped = files("scisync.schemas").joinpath("manifest.schema.json").read_text("utf-8")
    assert json.loads(shipped) == committed()
