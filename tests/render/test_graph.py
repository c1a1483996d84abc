"""`scisync graph`: the manifest's dependency graph as DOT and Mermaid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from scisync import api
from scisync.cli import main
from scisync.manifest.graph import DependencyGraph, GraphEdge, GraphNode
from scisync.render.graph import to_dot, to_mermaid

EXAMPLES = Path(__file__).parents[2] / "manifests.example"


def _graph(example: str) -> DependencyGraph:
    return api.graph(api.load_project([EXAMPLES / example / "scisync.yaml"]))


def test_samples_inputs_external_pids_and_downloads_become_edges() -> None:
    graph = _graph("ci-pipeline")
    kinds = {n.id: n.kind for n in graph.nodes}
    assert kinds["sample.latex-spheres"] == "sample"
    assert kinds["dataset.raw-run-0041"] == "raw"
    assert kinds["dataset.reduced-run-0041"] == "derived"
    assert kinds["external.20.500.12269/0f3e9c2a-calibration-2026"] == "external"
    assert GraphEdge("sample.latex-spheres", "dataset.raw-run-0041", "sample") in graph.edges
    assert GraphEdge("dataset.raw-run-0041", "dataset.reduced-run-0041", "input") in graph.edges
    downloads = _graph("reproducible-download")
    assert GraphEdge("dataset.peak-fits", "download.our-fits", "download") in downloads.edges
    # one external node per pid, however often it is referred to
    assert len([n for n in downloads.nodes if n.kind == "external"]) == 1


def test_publications_are_nodes_with_edges_from_their_datasets() -> None:
    graph = _graph("ci-pipeline")
    doi = "publication.saxs-reduced-2026.1"
    assert GraphNode(doi, "publication", "saxs-reduced-2026.1") in graph.nodes
    published = [e for e in graph.edges if e.target == doi]
    assert published == [
        GraphEdge("dataset.reduced-run-0041", doi, "published"),
        GraphEdge("dataset.reduced-run-0042", doi, "published"),
    ]
    dot, mermaid = to_dot(graph), to_mermaid(graph)
    assert f'"{doi}" [label="publication\\nsaxs-reduced-2026.1", shape=note];' in dot
    assert f'"dataset.reduced-run-0041" -> "{doi}" [label="published"];' in dot
    assert '[["publication: saxs-reduced-2026.1"]]' in mermaid
    assert mermaid.count("-->|published|") == 2


def test_dot_of_the_quickstart() -> None:
    assert to_dot(_graph("quickstart")) == (
        "digraph scisync {\n"
        "  rankdir=LR;\n"
        '  node [fontname="Helvetica"];\n'
        '  "sample.powder-1" [label="sample\\npowder-1", shape=ellipse];\n'
        '  "dataset.calibration-scan" [label="raw\\ncalibration-scan", shape=box];\n'
        '  "sample.powder-1" -> "dataset.calibration-scan" [label="sample"];\n'
        "}\n"
    )


def test_mermaid_of_the_quickstart() -> None:
    assert to_mermaid(_graph("quickstart")) == (
        'flowchart LR\n  n0(["sample: powder-1"])\n  n1["raw: calibration-scan"]\n'
        "  n0 -->|sample| n1\n"
    )


HOSTILE = ['a"b', "back\\slash", "new\nline", "<script>x</script>", "x]; evil [y", "#quot;"]
_DOT_STRING = r'"(?:[^"\\\n]|\\.)*"'
_DOT_LINE = re.compile(rf"^  {_DOT_STRING}( -> {_DOT_STRING})? \[.*\];$")


@pytest.mark.parametrize("pid", HOSTILE)
def test_labels_cannot_break_out_of_their_node(pid: str) -> None:
    graph = DependencyGraph(
        nodes=(
            GraphNode("dataset.d", "derived", "d"),
            GraphNode(f"external.{pid}", "external", pid),
        ),
        edges=(GraphEdge(f"external.{pid}", "dataset.d", "input"),),
    )
    dot_lines = to_dot(graph).splitlines()
    body = dot_lines[3:-1]
    assert len(body) == 3 and all(_DOT_LINE.match(line) for line in body), body
    mermaid = to_mermaid(graph).splitlines()
    assert len(mermaid) == 4
    label = mermaid[2].split('"')[1]
    assert mermaid[2] == f'  n1{{{{"{label}"}}}}'
    assert not set(label) & {'"', "<", ">", "\n"}
    assert mermaid[3] == "  n1 -->|input| n0"


def test_the_command_prints_dot_by_default_and_mermaid_on_request() -> None:
    runner = CliRunner()
    where = str(EXAMPLES / "quickstart")
    dot = runner.invoke(main, ["-C", where, "graph"])
    assert dot.exit_code == 0, dot.output
    assert dot.output.startswith("digraph scisync {")
    mermaid = runner.invoke(main, ["-C", where, "graph", "--format", "mermaid"])
    assert mermaid.exit_code == 0 and mermaid.output.startswith("flowchart LR")
    wrong = runner.invoke(main, ["-C", where, "graph", "--format", "png"])
    assert wrong.exit_code == 2
