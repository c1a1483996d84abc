"""Merge several manifest files (``-f a.yaml -f b.yaml``) into one document.

Entry sections (samples, datasets, downloads, published_data) concatenate in file order.  Mappings
of values (vars, defaults) merge name by name.  Everything else (version, project,
scicat, storage) must be given once, or agree exactly where repeated.
"""

from __future__ import annotations

from scisync.manifest.nodes import Node
from scisync.manifest.problems import Problems

LIST_SECTIONS = ("samples", "datasets", "downloads", "published_data")
MAP_SECTIONS = ("vars", "defaults")


def merge_documents(roots: list[Node], problems: Problems) -> Node:
    """One root node holding all *roots*; conflicts are added to *problems*."""
    if len(roots) == 1:
        return roots[0]
    values: dict[str, Node] = {}
    key_positions = {}
    for root in roots:
        if not isinstance(root.value, dict):
            continue  # reported by the schema check of the first root
        for key, node in root.mapping().items():
            position = root.key_positions.get(key, node.position)
            if key not in values:
                values[key] = node
                key_positions[key] = position
            elif key in LIST_SECTIONS and node.is_sequence and values[key].is_sequence:
                values[key] = values[key].with_value([*values[key].sequence(), *node.sequence()])
            elif key in MAP_SECTIONS and node.is_mapping and values[key].is_mapping:
                values[key] = _merge_maps(values[key], node, (key,), problems, depth=2)
            elif node.to_plain() != values[key].to_plain():
                problems.add(
                    position,
                    (key,),
                    f"{key!r} differs from the one at {key_positions[key]}",
                    f"give {key} in one manifest file only, or make them agree",
                )
    first = roots[0]
    return Node(values, first.position, key_positions)


def _merge_maps(
    old: Node, new: Node, path: tuple[str, ...], problems: Problems, depth: int
) -> Node:
    merged = dict(old.mapping())
    keys = dict(old.key_positions)
    for key, node in new.mapping().items():
        position = new.key_positions.get(key, node.position)
        if key not in merged:
            merged[key] = node
            keys[key] = position
        elif depth > 1 and node.is_mapping and merged[key].is_mapping:
            merged[key] = _merge_maps(merged[key], node, (*path, key), problems, depth - 1)
        elif node.to_plain() != merged[key].to_plain():
            problems.add(
                position,
                (*path, key),
                f"{key!r} is set differently at {keys[key]}",
                "set it in one manifest file only (or use --var to override)",
            )
    return Node(merged, old.position, keys)
