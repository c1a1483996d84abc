"""``scisync graph`` output: the manifest's dependency graph as DOT or Mermaid text.

DOT (the default, like ``terraform graph``) goes to Graphviz: ``scisync graph | dot -Tsvg``.
Mermaid renders in GitHub and GitLab markdown inside a ```` ```mermaid ```` block.
Every label is quoted and escaped, so keys and pids cannot break out of their node.
"""

from __future__ import annotations

from scisync.manifest.graph import DependencyGraph, GraphNode

FORMATS = ("dot", "mermaid")

_DOT_SHAPES = {
    "sample": "ellipse",
    "raw": "box",
    "derived": "box",
    "download": "folder",
    "publication": "note",
    "external": "box",
}
_DOT_STYLES = {"derived": "rounded", "external": "dashed"}


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _dot_node(node: GraphNode) -> str:
    label = _dot_quote(node.kind + "\n" + node.label)
    attributes = [
        f"label={label}",
        f"shape={_DOT_SHAPES.get(node.kind, 'box')}",
    ]
    if node.kind in _DOT_STYLES:
        attributes.append(f'style="{_DOT_STYLES[node.kind]}"')
    return f"  {_dot_quote(node.id)} [{', '.join(attributes)}];"


def to_dot(graph: DependencyGraph) -> str:
    lines = ["digraph scisync {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    lines += [_dot_node(node) for node in graph.nodes]
    lines += [
        f"  {_dot_quote(e.source)} -> {_dot_quote(e.target)} [label={_dot_quote(e.role)}];"
        for e in graph.edges
    ]
    lines.append("}")
    return "\n".join(lines) + "\n"


# Mermaid reads entity codes in labels; "#" first so the codes themselves stay intact.
_MERMAID_ESCAPES = (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"))
_MERMAID_SHAPES = {
    "sample": ('(["', '"])'),
    "raw": ('["', '"]'),
    "derived": ('("', '")'),
    "download": ('[/"', '"/]'),
    "publication": ('[["', '"]]'),
    "external": ('{{"', '"}}'),
}


def _mermaid_text(text: str) -> str:
    for plain, code in _MERMAID_ESCAPES:
        text = text.replace(plain, code)
    return " ".join(text.split())  # a label is one line


def to_mermaid(graph: DependencyGraph) -> str:
    # Node ids are generated (n0, n1, ...): keys and pids may hold characters Mermaid reserves.
    ids = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    for node in graph.nodes:
        opening, closing = _MERMAID_SHAPES.get(node.kind, ('["', '"]'))
        label = _mermaid_text(f"{node.kind}: {node.label}")
        lines.append(f"  {ids[node.id]}{opening}{label}{closing}")
    lines += [f"  {ids[e.source]} -->|{e.role}| {ids[e.target]}" for e in graph.edges]
    return "\n".join(lines) + "\n"


def render_graph(graph: DependencyGraph, fmt: str) -> str:
    if fmt == "mermaid":
        return to_mermaid(graph)
    return to_dot(graph)
