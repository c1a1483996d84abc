"""A dataset's lineage as a drawing: inputs and samples -> this dataset -> derived ones.

Only geometry here (boxes, curves, labels); the template turns it into inline SVG, so
every label goes through jinja2's autoescaping like the rest of the page.
"""

from __future__ import annotations

from dataclasses import dataclass

BOX_WIDTH = 220
BOX_HEIGHT = 40
GAP_X = 70
GAP_Y = 14
MARGIN = 8
MAX_PER_COLUMN = 8  # more than this collapse into one "+N more" box
MAX_LABEL = 26  # characters; the full text is in the box's <title>


@dataclass(frozen=True)
class LineageNode:
    kind: str  # "sample" | "input" | "this" | "derived" | "more"
    label: str
    href: str | None  # None: not readable by this visitor, or the dataset itself


@dataclass(frozen=True)
class PlacedNode:
    node: LineageNode
    x: int
    y: int
    short_label: str


@dataclass(frozen=True)
class LineageDrawing:
    width: int
    height: int
    box_width: int
    box_height: int
    nodes: tuple[PlacedNode, ...]
    edges: tuple[str, ...]  # SVG path data, each from a box's right side to another's left

    @property
    def empty(self) -> bool:
        return len(self.nodes) <= 1


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _bounded(nodes: list[LineageNode]) -> list[LineageNode]:
    if len(nodes) <= MAX_PER_COLUMN:
        return nodes
    hidden = len(nodes) - (MAX_PER_COLUMN - 1)
    return [*nodes[: MAX_PER_COLUMN - 1], LineageNode("more", f"+{hidden} more", None)]


def _column(nodes: list[LineageNode], x: int, height: int) -> list[PlacedNode]:
    used = len(nodes) * BOX_HEIGHT + max(0, len(nodes) - 1) * GAP_Y
    top = MARGIN + (height - 2 * MARGIN - used) // 2
    return [
        PlacedNode(node, x, top + i * (BOX_HEIGHT + GAP_Y), _shorten(node.label))
        for i, node in enumerate(nodes)
    ]


def _curve(start: PlacedNode, end: PlacedNode) -> str:
    x1, y1 = start.x + BOX_WIDTH, start.y + BOX_HEIGHT // 2
    x2, y2 = end.x, end.y + BOX_HEIGHT // 2
    middle = (x1 + x2) // 2
    return f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}"


def draw(
    upstream: list[LineageNode], this: LineageNode, downstream: list[LineageNode]
) -> LineageDrawing:
    """Three columns: *upstream* (samples, inputs), *this*, *downstream* (derived)."""
    left, right = _bounded(upstream), _bounded(downstream)
    rows = max(len(left), len(right), 1)
    height = 2 * MARGIN + rows * BOX_HEIGHT + (rows - 1) * GAP_Y
    columns = [c for c in (left, [this], right) if c]
    xs = [MARGIN + i * (BOX_WIDTH + GAP_X) for i in range(len(columns))]
    placed_left = _column(left, xs[0], height) if left else []
    center_x = xs[1] if left else xs[0]
    (placed_this,) = _column([this], center_x, height)
    placed_right = _column(right, center_x + BOX_WIDTH + GAP_X, height) if right else []
    edges = [_curve(node, placed_this) for node in placed_left]
    edges += [_curve(placed_this, node) for node in placed_right]
    width = 2 * MARGIN + len(columns) * BOX_WIDTH + (len(columns) - 1) * GAP_X
    return LineageDrawing(
        width=width,
        height=height,
        box_width=BOX_WIDTH,
        box_height=BOX_HEIGHT,
        nodes=(*placed_left, placed_this, *placed_right),
        edges=tuple(edges),
    )
