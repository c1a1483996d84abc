"""Reference checks: every key a manifest names exists and has the right kind, a
dataset does not name itself, and input_datasets form no cycle."""

from __future__ import annotations

from scisync.manifest.nodes import Node, NodePath, Position
from scisync.manifest.problems import Problems, did_you_mean


def check_references(root: Node, keys: dict[str, tuple[str, Position]], problems: Problems) -> None:
    """Add a problem for every dangling, mistyped, self or cyclic reference."""
    graph: dict[str, list[tuple[str, Node, NodePath]]] = {}
    datasets = root.get("datasets")
    for index, entry in enumerate(datasets.sequence() if datasets else []):
        path: NodePath = ("datasets", index)
        key = str(entry.mapping()["key"].value)
        sample = entry.get("sample")
        if sample is not None and isinstance(sample.value, str):
            _check_target(sample, (*path, "sample"), "sample", keys, problems)
        inputs = entry.get("input_datasets")
        for number, item in enumerate(inputs.sequence() if inputs else []):
            if not isinstance(item.value, str):
                continue
            here = (*path, "input_datasets", number)
            if item.value == key:
                problems.add(
                    item.position,
                    here,
                    f"dataset {key!r} names itself as an input",
                    "a dataset cannot be derived from itself",
                )
            elif _check_target(item, here, "dataset", keys, problems):
                graph.setdefault(key, []).append((item.value, item, here))
    downloads = root.get("downloads")
    for index, entry in enumerate(downloads.sequence() if downloads else []):
        target = entry.mapping().get("dataset")  # a query download names none
        if target is not None and isinstance(target.value, str):
            _check_target(target, ("downloads", index, "dataset"), "dataset", keys, problems)
    published = root.get("published_data")
    for index, entry in enumerate(published.sequence() if published else []):
        related = entry.get("datasets")
        for number, item in enumerate(related.sequence() if related else []):
            if isinstance(item.value, str):
                here = ("published_data", index, "datasets", number)
                _check_target(item, here, "dataset", keys, problems)
    _check_cycles(graph, problems)


def _check_target(
    node: Node,
    path: NodePath,
    kind: str,
    keys: dict[str, tuple[str, Position]],
    problems: Problems,
) -> bool:
    key = str(node.value)
    if key in keys:
        found_kind, where = keys[key]
        if found_kind == kind:
            return True
        problems.add(
            node.position,
            path,
            f"{key!r} is a {found_kind} (at {where}), not a {kind}",
            f"name a {kind} key here",
        )
        return False
    same_kind = [k for k, (found, _) in keys.items() if found == kind]
    external = "{id: ...}" if kind == "sample" else "{pid: ...}"
    suggestion = did_you_mean(key, same_kind)
    elsewhere = f"for a {kind} not managed here write {external}"
    problems.add(
        node.position,
        path,
        f"no {kind} with key {key!r} in this manifest",
        f"{suggestion} Or, {elsewhere}" if suggestion else elsewhere,
    )
    return False


def _check_cycles(graph: dict[str, list[tuple[str, Node, NodePath]]], problems: Problems) -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(key: str) -> None:
        state[key] = 1
        stack.append(key)
        for target, node, path in graph.get(key, []):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                problems.add(
                    node.position,
                    path,
                    "input_datasets form a cycle: " + " -> ".join(cycle),
                    "a dataset cannot (indirectly) be an input of itself; break the cycle",
                )
            elif target not in state:
                visit(target)
        stack.pop()
        state[key] = 2

    for key in sorted(graph):
        if key not in state:
            visit(key)
