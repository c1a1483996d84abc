"""The manifest's dependency graph: samples, datasets, downloads, publications and what
they refer to.

Edges point the way data flows: a sample into the datasets measured on it, an input
dataset into the datasets derived from it, a dataset into the downloads that fetch it
and into the publications (DOIs) it is published under.
References by pid (datasets or samples this manifest does not manage) become
``external`` nodes.  Rendering (DOT, Mermaid) is in :mod:`scisync.render.graph`.
"""

from __future__ import annotations

from dataclasses import dataclass

from scisync.manifest.model import KeyRef, Manifest, Reference


@dataclass(frozen=True)
class GraphNode:
    id: str  # unique: "sample.KEY", "dataset.KEY", "download.KEY", "external.PID"
    kind: str  # "sample" | "raw" | "derived" | "download" | "publication" | "external"
    label: str  # the key, or the pid of an external reference


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    role: str  # "sample" | "input" | "download" | "published"


@dataclass(frozen=True)
class DependencyGraph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


def _ref_id(ref: Reference, managed: str) -> str:
    return f"{managed}.{ref.key}" if isinstance(ref, KeyRef) else f"external.{ref.pid}"


def dependency_graph(manifest: Manifest) -> DependencyGraph:
    """Nodes in manifest order (samples, datasets, downloads, publications, then external
    references)."""
    nodes = [GraphNode(f"sample.{s.key}", "sample", s.key) for s in manifest.samples]
    nodes += [GraphNode(f"dataset.{d.key}", d.type, d.key) for d in manifest.datasets]
    nodes += [GraphNode(f"download.{d.key}", "download", d.key) for d in manifest.downloads]
    nodes += [
        GraphNode(f"publication.{p.key}", "publication", p.key) for p in manifest.published_data
    ]
    edges: list[GraphEdge] = []
    external: dict[str, GraphNode] = {}

    def link(ref: Reference, managed: str, target: str, role: str) -> None:
        source = _ref_id(ref, managed)
        if not isinstance(ref, KeyRef):
            external.setdefault(source, GraphNode(source, "external", ref.pid))
        edges.append(GraphEdge(source, target, role))

    for dataset in manifest.datasets:
        here = f"dataset.{dataset.key}"
        if dataset.sample is not None:
            link(dataset.sample, "sample", here, "sample")
        for ref in dataset.input_datasets:
            link(ref, "dataset", here, "input")
    for download in manifest.downloads:
        if download.dataset is not None:  # a query download's datasets are known at plan time
            link(download.dataset, "dataset", f"download.{download.key}", "download")
    for publication in manifest.published_data:
        for ref in publication.datasets:
            link(ref, "dataset", f"publication.{publication.key}", "published")
    return DependencyGraph(tuple(nodes) + tuple(external.values()), tuple(edges))
