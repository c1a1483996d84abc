"""``load_manifest``: the whole pipeline from files on disk to a typed :class:`Manifest`.

load (ruamel, positions kept) -> merge files -> render (Jinja sandbox, for_each)
-> defaults -> secret scan -> schema -> typed model -> reference checks.
Each stage collects every problem it finds; the first stage that found any raises
one :class:`~scisync.errors.ManifestError` listing them all.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from scisync._util.jsontypes import Json
from scisync.manifest.construct import Builder, check_no_secrets
from scisync.manifest.crossrefs import check_references
from scisync.manifest.merge import merge_documents
from scisync.manifest.model import Manifest
from scisync.manifest.nodes import Node
from scisync.manifest.problems import Problems
from scisync.manifest.publications import publications
from scisync.manifest.templating import Renderer, render_vars
from scisync.manifest.validate import validate_document
from scisync.manifest.yaml_nodes import display_name, load_file


def load_manifest(
    paths: Sequence[Path] | Path,
    *,
    variables: Mapping[str, str] | None = None,
    var_files: Sequence[Path] = (),
    environ: Mapping[str, str] | None = None,
) -> Manifest:
    """Load, render and validate the manifest file(s) *paths*.

    ``variables`` (``--var``) and ``var_files`` (``--var-file``, later files win, --var
    wins over all) override the manifest's ``vars``.  ``environ`` is what ``env()`` in
    templates reads (default: ``os.environ``).  Raises
    :class:`~scisync.errors.ManifestError` listing every problem found.
    """
    files = [paths] if isinstance(paths, Path) else list(paths)
    if not files:
        raise ValueError("load_manifest needs at least one manifest path")
    problems = Problems()
    folders, roots = _load_files(files, problems)
    overrides = _overrides(var_files, variables or {}, problems)
    problems.raise_if_any()

    merged = merge_documents(roots, problems)
    rendered = _render(merged, overrides, folders, environ, problems)
    rendered = _apply_defaults(rendered)
    check_no_secrets(rendered, problems)
    validate_document(rendered, problems)
    problems.raise_if_any()
    return _build(rendered, folders, files, problems)


def _load_files(files: Sequence[Path], problems: Problems) -> tuple[dict[str, Path], list[Node]]:
    """Each file's folder (by display name) and its parsed root mapping."""
    folders: dict[str, Path] = {}
    roots: list[Node] = []
    for path in files:
        folders[display_name(path)] = path.resolve().parent
        root = load_file(path, problems)
        if root is None:
            continue
        if not root.is_mapping:
            problems.add(
                root.position, (), "a manifest must be a mapping (version:, project:, ...)"
            )
            continue
        roots.append(root)
    return folders, roots


def _build(
    rendered: Node, folders: dict[str, Path], files: Sequence[Path], problems: Problems
) -> Manifest:
    """The typed manifest from the rendered, schema-valid document."""
    builder = Builder(rendered, folders, problems)
    version = rendered.get("version")
    project = rendered.get("project")
    for name, node in (("version", version), ("project", project)):
        if node is None:
            problems.add(rendered.position, (), f"missing required field {name!r}",
                         "start the manifest with 'version: 1' and 'project: <name>'")  # fmt: skip
    scicat = builder.scicat()
    storage = builder.storage()
    samples = builder.samples()
    datasets = builder.datasets()
    downloads = builder.downloads()
    published = publications(builder)
    check_references(rendered, builder.keys, problems)
    problems.raise_if_any()
    assert version is not None and project is not None
    return Manifest(
        version=int(version.value),
        project=str(project.value),
        scicat=scicat,
        storage=storage,
        samples=samples,
        datasets=datasets,
        downloads=downloads,
        published_data=published,
        sources=tuple(path.resolve() for path in files),
        base_dir=files[0].resolve().parent,
        digest=manifest_digest(rendered),
    )


def manifest_digest(rendered: Node) -> str:
    """sha256 of the canonical JSON of the rendered document (vars left out: their effect
    is already in the values that use them)."""
    plain = rendered.to_plain()
    assert isinstance(plain, dict)
    plain = {key: value for key, value in plain.items() if key != "vars"}
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _overrides(
    var_files: Sequence[Path], variables: Mapping[str, str], problems: Problems
) -> dict[str, Json]:
    found: dict[str, Json] = {}
    for path in var_files:
        node = load_file(path, problems)
        if node is None:
            continue
        plain = node.to_plain()
        if not isinstance(plain, dict):
            problems.add(node.position, (), "a --var-file must hold a mapping of NAME: value")
            continue
        found.update(plain)
    found.update(variables)
    return found


def _secret_env_names(root: Node) -> frozenset[str]:
    scicat = root.get("scicat")
    names = {"SCICAT_TOKEN"}
    for field in ("token_env", "password_env"):
        node = scicat.get(field) if scicat is not None else None
        if node is not None and isinstance(node.value, str):
            names.add(node.value)
    return frozenset(names)


def _render(
    root: Node,
    overrides: Mapping[str, Json],
    folders: Mapping[str, Path],
    environ: Mapping[str, str] | None,
    problems: Problems,
) -> Node:
    env = dict(os.environ if environ is None else environ)
    secret_env = _secret_env_names(root)

    def renderer_for(variables: Mapping[str, Json]) -> Renderer:
        return Renderer(variables, folders, env, secret_env)

    raw_vars = root.get("vars")
    variables = render_vars(
        raw_vars.mapping() if raw_vars is not None and raw_vars.is_mapping else {},
        overrides,
        renderer_for,
        problems,
    )
    renderer = renderer_for(variables)
    out: dict[str, Node] = {}
    for key, node in root.mapping().items():
        if key == "vars":
            out[key] = node  # rendered into `variables` above
        elif key == "datasets" and node.is_sequence:
            stamped: list[Node] = []
            for index, entry in enumerate(node.sequence()):
                if entry.is_mapping:
                    stamped.extend(renderer.expand_for_each(entry, (key, index), problems))
                else:
                    stamped.append(renderer.render(entry, (key, index), problems))
            out[key] = node.with_value(stamped)
        else:
            out[key] = renderer.render(node, (key,), problems)
    return root.with_value(out)


def _apply_defaults(root: Node) -> Node:
    """Copy ``defaults.datasets`` / ``defaults.samples`` fields into entries lacking them.

    Copied nodes keep the position of the default, so a bad default is reported there.
    """
    defaults = root.get("defaults")
    if defaults is None or not defaults.is_mapping:
        return root
    out = dict(root.mapping())
    for section in ("datasets", "samples"):
        preset = defaults.get(section)
        entries = root.get(section)
        if preset is None or not preset.is_mapping or entries is None or not entries.is_sequence:
            continue
        filled = []
        for entry in entries.sequence():
            if entry.is_mapping:
                values = {**preset.mapping(), **entry.mapping()}
                keys = {**preset.key_positions, **entry.key_positions}
                entry = Node(values, entry.position, keys, entry.origin)
            filled.append(entry)
        out[section] = entries.with_value(filled)
    return root.with_value(out)


__all__ = ["load_manifest", "manifest_digest"]
