"""Read one manifest file into a :class:`Node` tree, keeping every position.

We use ruamel.yaml's round-trip composer rather than the constructor: composed nodes
carry a start mark for every key *and* scalar, duplicate keys are still visible (so
all of them can be reported, not just the first), and timestamps stay the text the
user wrote (SciCat wants ISO-8601 strings, not datetime objects).
"""

from __future__ import annotations

import math
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.composer import MaxDepthExceededError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.nodes import Node as YamlNode

from scisync._util.limits import MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH, MAX_MANIFEST_VALUES
from scisync.errors import Problem, os_error_hint
from scisync.manifest.nodes import Node, NodePath, Position
from scisync.manifest.problems import Problems

_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = _TAG + "merge"


def display_name(path: Path) -> str:
    """How a manifest file is named in messages: relative to the cwd when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_file(path: Path, problems: Problems) -> Node | None:
    """Parse *path*; on failure add problems and return None."""
    name = display_name(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)  # never more than the limit, however big
        text = raw.decode("utf-8")
    except FileNotFoundError:
        # No position: there is no file to point into.
        problems.add_problem(
            Problem(
                what="manifest file not found",
                where=name,
                hint="run `scisync init` to start one here, or name an existing manifest "
                "with -f FILE (and -C DIR)",
            )
        )
        return None
    except IsADirectoryError:
        problems.add(
            Position(name, 1, 1),
            (),
            "the manifest is a folder, not a file",
            "name the manifest file with -f FILE, or the project folder with -C DIR",
        )
        return None
    except UnicodeDecodeError as error:
        problems.add(
            Position(name, 1, 1),
            (),
            f"the manifest is not UTF-8 text (byte {error.start})",
            "save it as UTF-8",
        )
        return None
    except OSError as error:
        problems.add(
            Position(name, 1, 1),
            (),
            f"cannot read manifest: {error.strerror}",
            os_error_hint(error),
        )
        return None
    if len(raw) > MAX_MANIFEST_BYTES:
        problems.add(
            Position(name, 1, 1),
            (),
            f"the file is larger than the limit of {MAX_MANIFEST_BYTES:,} bytes",
            "split it into several manifest files (-f A -f B), or generate entries with for_each",
        )
        return None
    return load_text(text, name, problems)


def load_text(text: str, name: str, problems: Problems) -> Node | None:
    """Parse YAML *text* (named *name* in messages)."""
    yaml = YAML(typ="rt")
    yaml.max_depth = MAX_MANIFEST_DEPTH  # ruamel's composer recurses once per level
    try:
        composed = yaml.compose(text)
    except (MaxDepthExceededError, RecursionError) as error:
        # RecursionError only if a ruamel.yaml without max_depth were installed anyway
        mark = getattr(error, "problem_mark", None)
        problems.add(
            Position(name, mark.line + 1, mark.column + 1) if mark else Position(name, 1, 1),
            (),
            f"the document nests deeper than the limit of {MAX_MANIFEST_DEPTH} levels",
            "flatten the structure: manifests and metadata need only a few levels",
        )
        return None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(part for part in (error.context, error.problem) if part)
        context = error.context_mark
        if context is not None and mark is not None and context.line != mark.line:
            what += f" (it started at line {context.line + 1}, column {context.column + 1})"
        problems.add(
            Position(name, line, column),
            (),
            f"YAML syntax error: {what}",
            "check indentation, colons and closing brackets near this position",
        )
        return None
    except YAMLError as error:
        problems.add(Position(name, 1, 1), (), f"YAML error: {error}")
        return None
    if composed is None:
        problems.add(Position(name, 1, 1), (), "the manifest is empty", "start with 'version: 1'")
        return None
    if not _expansion_within_limit(composed, name, problems):
        return None
    return _convert(composed, name, (), problems)


class _SelfReference(Exception):
    """An alias inside the node its anchor names: the expansion never ends."""

    def __init__(self, node: YamlNode) -> None:
        self.node = node


def _expansion_within_limit(root: YamlNode, name: str, problems: Problems) -> bool:
    """Whether *root*, once its aliases are expanded, holds at most MAX_MANIFEST_VALUES
    values and nests at most MAX_MANIFEST_DEPTH levels.

    An alias is the node its anchor names, shared: the composed graph stays small (the
    composer bounded its depth) while its expansion, what :func:`_convert` builds, can be
    exponential ("billion laughs") or nest an anchor inside an anchor inside ...  Each
    node is measured once, so this check is linear in the document.
    """
    measured: dict[int, tuple[int, int]] = {}  # id -> (values, depth) of its expansion
    open_nodes: set[int] = set()

    def measure(node: YamlNode) -> tuple[int, int]:
        known = measured.get(id(node))
        if known is not None:
            return known
        if id(node) in open_nodes:
            raise _SelfReference(node)
        open_nodes.add(id(node))
        children = _children(node)
        parts = [measure(child) for child in children]
        values = min(1 + sum(size for size, _ in parts), MAX_MANIFEST_VALUES + 1)
        depth = min(1 + max((deep for _, deep in parts), default=0), MAX_MANIFEST_DEPTH + 1)
        open_nodes.discard(id(node))
        measured[id(node)] = values, depth
        return values, depth

    try:
        values, depth = measure(root)
    except _SelfReference as loop:
        problems.add(_position(loop.node, name), (), "a YAML alias refers to the node that "
                     "contains it, so it never ends", "an anchor (&name) cannot be used "
                     "inside itself")  # fmt: skip
        return False
    if values <= MAX_MANIFEST_VALUES and depth <= MAX_MANIFEST_DEPTH:
        return True
    index = 0 if values > MAX_MANIFEST_VALUES else 1
    anchored = [n for n in _walk_once(root) if getattr(n, "anchor", None) is not None]
    culprit = max(anchored, key=lambda n: measured[id(n)][index], default=root)
    if index == 0:
        what = f"YAML aliases expand the document to more than {MAX_MANIFEST_VALUES:,} values"
        hint = "use each anchor (&name) a few times at most; repeat a block with for_each"
    else:
        what = f"YAML aliases nest the document deeper than {MAX_MANIFEST_DEPTH} levels"
        hint = "an alias adds its anchor's levels to those around it: flatten the structure"
    problems.add(_position(culprit, name), (), what, hint)
    return False


def _children(node: YamlNode) -> list[YamlNode]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _walk_once(root: YamlNode) -> list[YamlNode]:
    """Every distinct node of the composed graph, each once."""
    seen: dict[int, YamlNode] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(_children(node))
    return list(seen.values())


def _position(node: YamlNode, name: str) -> Position:
    return Position(name, node.start_mark.line + 1, node.start_mark.column + 1)


def _tag(node: YamlNode) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag))


def _convert(node: YamlNode, name: str, path: NodePath, problems: Problems) -> Node:
    position = _position(node, name)
    if isinstance(node, MappingNode):
        return _convert_mapping(node, name, path, problems)
    if isinstance(node, SequenceNode):
        return Node(
            [
                _convert(item, name, (*path, index), problems)
                for index, item in enumerate(node.value)
            ],
            position,
        )
    assert isinstance(node, ScalarNode)
    return Node(_scalar(node, name, path, problems), position)


def _convert_mapping(node: MappingNode, name: str, path: NodePath, problems: Problems) -> Node:
    values: dict[str, Node] = {}
    key_positions: dict[str, Position] = {}
    merged: list[Node] = []
    for key_node, value_node in node.value:
        key_position = _position(key_node, name)
        if _tag(key_node) == _MERGE_TAG:
            merged.append(_convert(value_node, name, path, problems))
            continue
        if not isinstance(key_node, ScalarNode):
            # `x: {{ vars.y }}` unquoted is YAML for a mapping whose key is a mapping.
            template = isinstance(key_node, MappingNode) and node.flow_style
            problems.add(
                key_position,
                path,
                "mapping keys must be plain strings",
                'a template at the start of a value must be quoted, e.g. "{{ vars.name }}"'
                if template
                else None,
            )
            continue
        key = str(key_node.value)
        if key in values:
            problems.add(
                key_position,
                (*path, key),
                f"duplicate key {key!r} (first written at {key_positions[key]})",
                "YAML keeps only one of them; remove or rename the other",
            )
            continue
        key_positions[key] = key_position
        values[key] = _convert(value_node, name, (*path, key), problems)
    # YAML merge keys ("<<: *defaults"): keys written here win over merged ones.
    for source in merged:
        sources = source.value if isinstance(source.value, list) else [source]
        for one in sources:
            if not isinstance(one.value, dict):
                problems.add(one.position, path, "'<<' must merge a mapping or a list of them")
                continue
            for key, child in one.value.items():
                if key not in values:
                    values[key] = child
                    key_positions[key] = one.key_positions.get(key, one.position)
    return Node(values, _position(node, name), key_positions)


def _scalar(
    node: ScalarNode, name: str, path: NodePath, problems: Problems
) -> str | int | float | bool | None:
    text = str(node.value)
    tag = _tag(node)
    if tag in (_TAG + "str", _TAG + "timestamp"):
        return text
    if tag == _TAG + "null":
        return None
    if tag == _TAG + "bool":
        return text.lower() == "true"
    if tag == _TAG + "int":
        return _yaml_int(text)
    if tag == _TAG + "float":
        return _yaml_float(text)
    problems.add(
        _position(node, name),
        path,
        f"unsupported YAML tag {tag!r}",
        "manifests use plain YAML values; remove the tag or quote the value",
    )
    return text


def _yaml_int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    for prefix, base in (("0o", 8), ("0x", 16), ("0b", 2)):
        if digits.lower().startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits, 10)


def _yaml_float(text: str) -> float:
    lowered = text.lower().replace("_", "")
    if lowered in (".nan",):
        return math.nan
    if lowered.lstrip("+-") == ".inf":
        return -math.inf if lowered.startswith("-") else math.inf
    return float(lowered)
