"""The manifest entry of an imported dataset: SciCat's document read backwards.

The dataset's metadata becomes a new ``datasets:`` entry (the field table of
:mod:`scisync.manifest.fields` read backwards), appended with ruamel.yaml's round trip
so the user's comments and layout survive.  The entry has no ``files:`` section, so
scisync leaves the dataset's file list alone, and no attachments.  Pure: text in, text out.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from scisync._util.jsontypes import Json
from scisync.desired.ids import MARKER_FIELD, SUPERSEDES_FIELD
from scisync.errors import ManifestError, PlanError
from scisync.manifest.fields import DATASET_FIELDS
from scisync.observe.model import ObservedDataset

_SERVER_QUANTITY_KEYS = frozenset({"valueSI", "unitSI"})
_SCISYNC_METADATA_KEYS = frozenset({MARKER_FIELD, SUPERSEDES_FIELD})
_TEMPLATE_START = re.compile(r"\{[{%#]")
_INVESTIGATORS = "principalInvestigators"


def _escape_templates(value: Json) -> Json:
    """Strings are Jinja templates in a manifest; keep ``{{`` in SciCat's values literal."""
    if isinstance(value, str):
        if _TEMPLATE_START.search(value):
            return "{% raw %}" + value + "{% endraw %}"
        return value
    if isinstance(value, list):
        return [_escape_templates(item) for item in value]
    if isinstance(value, dict):
        return {name: _escape_templates(item) for name, item in value.items()}
    return value


def _strip_server_quantities(value: Json) -> Json:
    """Drop the valueSI/unitSI SciCat adds to every {value, unit} (the planner ignores them)."""
    if isinstance(value, dict):
        return {
            name: _strip_server_quantities(item)
            for name, item in value.items()
            if name not in _SERVER_QUANTITY_KEYS
        }
    if isinstance(value, list):
        return [_strip_server_quantities(item) for item in value]
    return value


def _empty(value: Json) -> bool:
    return value is None or value == "" or value == [] or value == {}


def dataset_entry(key: str, dataset: ObservedDataset) -> dict[str, Json]:
    """The manifest entry describing *dataset* as SciCat holds it (pure).

    Fields the manifest language has no name for (server bookkeeping such as
    ``createdAt``, ``size``, ``numberOfFiles``) are left out: scisync does not manage them.
    """
    document = dataset.fields
    kind = document.get("type")
    if kind not in ("raw", "derived"):
        raise PlanError(
            f"dataset {dataset.pid} has type {kind!r}; scisync manages raw and derived datasets",
            where=f"dataset {dataset.pid}",
            hint="import a raw or derived dataset",
        )
    entry: dict[str, Json] = {"key": key, "type": kind}
    for field in DATASET_FIELDS:
        # Arrays are written with their plural names; the v3 singular aliases are skipped,
        # except `investigator`, the only name a derived dataset has for its one PI.
        if kind not in field.types or field.scicat == _INVESTIGATORS:
            continue
        if field.singular:
            continue
        value = document.get(field.scicat)
        if _empty(value):
            continue
        if field.camel_keys is not None and isinstance(value, list):
            to_snake = {camel: snake for snake, camel in field.camel_keys.items()}
            value = [
                {to_snake[k]: v for k, v in item.items() if k in to_snake and v is not None}
                if isinstance(item, dict)
                else item
                for item in value
            ]
        elif field.scicat == "techniques" and isinstance(value, list):
            value = [
                {k: v for k, v in item.items() if k in ("pid", "name")}
                if isinstance(item, dict)
                else item
                for item in value
            ]
        entry[field.name] = value
    investigators = document.get(_INVESTIGATORS)
    if not _empty(investigators):
        entry.update(_investigators(kind, investigators, dataset.pid))
    inputs = document.get("inputDatasets")
    if kind == "derived" and isinstance(inputs, list) and inputs:
        entry["input_datasets"] = [{"pid": pid} for pid in inputs]
    folder = document.get("sourceFolder")
    if isinstance(folder, str) and PurePosixPath(folder).is_absolute():
        entry["source_folder"] = folder
    metadata = document.get("scientificMetadata")
    if isinstance(metadata, dict):
        kept = {k: v for k, v in metadata.items() if k not in _SCISYNC_METADATA_KEYS}
        if kept:
            entry["scientific_metadata"] = _strip_server_quantities(kept)
    return {name: _escape_templates(value) for name, value in entry.items()}


def _investigators(kind: str, value: Json, pid: str) -> dict[str, Json]:
    names: list[Json] = list(value) if isinstance(value, list) else [value]
    if kind == "raw":
        return {"principal_investigators": names}
    if len(names) != 1:
        raise PlanError(
            f"derived dataset {pid} has {len(names)} principal investigators; a manifest's "
            "derived dataset has exactly one `investigator`",
            where=f"dataset {pid}",
            hint="edit principalInvestigators in SciCat down to one name, then import again",
        )
    return {"investigator": names[0]}


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a long description into several lines
    yaml.preserve_quotes = True
    return yaml


def _to_commented(value: Json) -> Any:
    if isinstance(value, dict):
        mapping = CommentedMap()
        for name, item in value.items():
            mapping[name] = _to_commented(item)
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq(_to_commented(item) for item in value)
        if all(not isinstance(item, dict | list) for item in value):
            sequence.fa.set_flow_style()  # short lists of names read best on one line
        return sequence
    return value


def append_entry(text: str, entry: Mapping[str, Json]) -> str:
    """*text* (a manifest) with *entry* appended to its ``datasets:``, comments kept."""
    _, indent, offset = load_yaml_guess_indent(text)
    yaml = _yaml()
    mapping_indent = indent or 2
    sequence_indent = max(mapping_indent, (offset or 0) + 2)
    yaml.indent(mapping=mapping_indent, sequence=sequence_indent, offset=offset or 0)
    document = yaml.load(text)
    if not isinstance(document, CommentedMap):
        raise ManifestError("the manifest is not a mapping", hint="start it with 'version: 1'")
    datasets = document.get("datasets")
    if datasets is None:
        datasets = CommentedSeq()
        document["datasets"] = datasets
    if not isinstance(datasets, CommentedSeq):
        raise ManifestError(
            "`datasets:` is not a list", hint="make it a list of entries (`- key: ...`)"
        )
    datasets.fa.set_block_style()
    datasets.append(_to_commented(dict(entry)))
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()
