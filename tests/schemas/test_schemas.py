from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from scisync._util.jsontypes import Json
from scisync.schemas import json_path, load_schema, schema_violations

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["lock", "plan"])
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", ["lock", "plan"])
def test_every_property_has_a_description(name: str) -> None:
    missing: list[str] = []

    def walk(node: Json, where: str) -> None:
        if isinstance(node, dict):
            for key, sub in (node.get("properties") or {}).items():  # type: ignore[union-attr]
                if not (isinstance(sub, dict) and sub.get("description")):
                    missing.append(f"{where}.properties.{key}")
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for index, sub in enumerate(node):
                walk(sub, f"{where}[{index}]")

    walk(load_schema(name), "$")
    assert missing == []


@pytest.mark.parametrize("name", ["lock", "plan"])
def test_top_level_symlink_points_at_package_data(name: str) -> None:
    link = REPO_ROOT / "schemas" / f"{name}.schema.json"
    assert link.is_symlink()
    assert json.loads(link.read_text()) == load_schema(name)


def test_load_schema_accepts_file_name_and_caches() -> None:
    assert load_schema("lock.schema.json") is load_schema("lock")


def test_violations_carry_json_paths() -> None:
    found = schema_violations("lock", {"version": "one", "project": ""})
    paths = {violation.path for violation in found}
    assert "$.version" in paths
    assert "$.project" in paths
    assert "$" in paths  # missing required sections


def test_json_path() -> None:
    assert json_path(["datasets", "a", "files", 3, "size"]) == "$.datasets.a.files[3].size"
    assert json_path([]) == "$"
