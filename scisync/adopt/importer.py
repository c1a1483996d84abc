"""``scisync import``: bring a dataset that already exists in SciCat under a manifest.

The dataset's metadata becomes a new ``datasets:`` entry (the field table of
:mod:`scisync.manifest.fields` read backwards), appended with ruamel.yaml's round trip
so the user's comments and layout survive.  The entry has no ``files:`` section, so
scisync leaves the dataset's file list alone, and no attachments.  Then the dataset
gets scisync's marker (``scientificMetadata.scisync_marker``), which makes it findable
without the lockfile, and the normal plan restricted to the new key adopts it into
``scisync.lock``: the next ``scisync plan`` shows no changes for it.

The caller holds the apply lock (:func:`scisync.api.apply_lock`) around
:func:`import_dataset`, as for :func:`scisync.api.apply`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from scisync import api
from scisync._util.atomicfile import write_atomic
from scisync._util.jsontypes import Json
from scisync.desired.ids import MARKER_FIELD, SUPERSEDES_FIELD, make_marker
from scisync.errors import ApiError, ManifestError, PlanError
from scisync.manifest.fields import DATASET_FIELDS
from scisync.manifest.schema import KEY_PATTERN
from scisync.observe.model import ObservedDataset
from scisync.plan.model import Action, FieldChange, ResourceKind

_SERVER_QUANTITY_KEYS = frozenset({"valueSI", "unitSI"})
_SCISYNC_METADATA_KEYS = frozenset({MARKER_FIELD, SUPERSEDES_FIELD})
_TEMPLATE_START = re.compile(r"\{[{%#]")
_INVESTIGATORS = "principalInvestigators"


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_dataset` did."""

    key: str
    pid: str
    manifest_path: Path
    marker: str
    entry: Mapping[str, Json]  # the manifest entry written (plain data)
    marker_set: bool  # False when the dataset already carried this marker
    adopted: bool  # recorded in the lockfile by a plan/apply restricted to the key
    lock_written: bool
    pending: tuple[FieldChange, ...] = ()  # why it was not adopted: changes apply would make


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


def _check_key(project: api.Project, key: str, manifest_path: Path) -> None:
    if not re.fullmatch(KEY_PATTERN, key):
        raise ManifestError(
            f"{key!r} is not a valid key",
            where="--key",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    manifest = project.manifest
    taken = {
        *(d.key for d in manifest.datasets),
        *(s.key for s in manifest.samples),
        *(d.key for d in manifest.downloads),
    }
    if key in taken:
        raise ManifestError(
            f"key {key!r} already exists in the manifest; refusing to import a second entry "
            "under it",
            where=str(manifest_path),
            hint="choose another --key, or remove the existing entry first",
        )


def _check_marker(connection: api.Connection, dataset: ObservedDataset, marker: str) -> None:
    if dataset.marker is not None and dataset.marker != marker:
        raise PlanError(
            f"dataset {dataset.pid} is already managed as {dataset.marker!r} (its "
            f"scientificMetadata.{MARKER_FIELD}); importing it as {marker!r} would take it "
            "from that manifest",
            where=f"dataset {dataset.pid}",
            hint="import it in the project that manages it, or remove the marker in SciCat first",
        )
    holders = connection.catalog.find_datasets_by_markers([marker]).get(marker, [])
    others = sorted(found.pid for found in holders if found.pid != dataset.pid)
    if others:
        raise PlanError(
            f"marker {marker!r} is already on dataset(s) {', '.join(others)}",
            where=f"dataset {dataset.pid}",
            hint="import under another --key; a marker must name exactly one dataset",
        )


def _validated_text(
    project: api.Project,
    manifest_path: Path,
    text: str,
    variables: Mapping[str, str],
    var_files: Sequence[Path],
) -> None:
    """Load the manifest as it would be after the import; raise its problems, write nothing."""
    probe = manifest_path.parent / f".{manifest_path.name}.import-{secrets.token_hex(4)}.yaml"
    probe.write_text(text, encoding="utf-8")
    try:
        sources = [probe if p == manifest_path else p for p in project.manifest.sources]
        api.load_project(sources, variables=variables, var_files=var_files)
    except ManifestError as error:
        raise ManifestError(
            "the imported dataset's metadata does not make a valid manifest entry; "
            "nothing was written or changed",
            where=str(manifest_path),
            hint="fix the values below in SciCat (or import into a manifest without "
            "conflicting settings), then import again",
            problems=error.problems,
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)


def import_dataset(
    project: api.Project,
    connection: api.Connection,
    pid: str,
    key: str,
    *,
    manifest_path: Path | None = None,
    variables: Mapping[str, str] | None = None,
    var_files: Sequence[Path] = (),
) -> ImportResult:
    """Write a manifest entry for dataset *pid* under *key*, mark it, and adopt it.

    *manifest_path* (default: the project's first manifest file) receives the entry.
    The dataset is adopted into the lockfile only when adopting it changes nothing in
    SciCat; if the manifest's ``defaults:`` would add or change fields, the entry is
    written and marked, and ``pending`` lists what ``scisync apply`` would change.
    """
    variables = dict(variables or {})
    target = (manifest_path or project.manifest.sources[0]).resolve()
    _check_key(project, key, target)
    dataset = connection.catalog.get_dataset(pid, context=f"importing {pid}")
    if dataset is None:
        raise ApiError(
            f"SciCat has no dataset {pid!r} that you can read",
            where=connection.url,
            hint="check the pid (as SciCat shows it, e.g. 20.500.12269/...) and your token",
        )
    marker = make_marker(project.manifest.project, key)
    _check_marker(connection, dataset, marker)
    entry = dataset_entry(key, dataset)
    new_text = append_entry(target.read_text(encoding="utf-8"), entry)
    _validated_text(project, target, new_text, variables, var_files)

    # The marker first: a manifest entry without a marked dataset would plan a *create*.
    marker_set = dataset.marker != marker
    if marker_set:
        connection.catalog.patch_dataset(
            pid,
            {"scientificMetadata": {MARKER_FIELD: marker}},
            merge_patch=True,
            context=f"dataset {key}",
        )
    write_atomic(target, new_text.encode("utf-8"))

    reloaded = api.load_project(
        project.manifest.sources, variables=variables, var_files=var_files,
        lock_path=project.lock_path,
    )  # fmt: skip
    plan = api.plan(reloaded, connection, targets=[key])
    change = plan.by_address().get(f"{ResourceKind.DATASET.value}.{key}")
    if change is None or change.pid != pid:
        raise PlanError(
            f"the plan for {key!r} does not adopt dataset {pid}",
            where=str(target),
            hint=f"run `scisync plan --target {key}` to see why",
        )
    quiet = (
        change.action in (Action.ADOPT, Action.NOOP)
        and not change.field_changes
        and not any(file.needs_transfer for file in change.files)
        and all(a.action.value == "keep" for a in change.attachments)
    )
    if not quiet:
        return ImportResult(
            key=key,
            pid=pid,
            manifest_path=target,
            marker=marker,
            entry=entry,
            marker_set=marker_set,
            adopted=False,
            lock_written=False,
            pending=change.field_changes,
        )
    outcome = api.apply(reloaded, connection, plan)
    return ImportResult(
        key=key,
        pid=pid,
        manifest_path=target,
        marker=marker,
        entry=entry,
        marker_set=marker_set,
        adopted=True,
        lock_written=outcome.lock_written,
    )
