"""``scisync graph``: print the manifest's dependency graph (DOT, or Mermaid)."""

from __future__ import annotations

from pathlib import Path

import click

from scisync import api
from scisync.cli.options import GlobalOptions, load_project, manifest_options
from scisync.render.graph import FORMATS, render_graph


@click.command("graph")
@manifest_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="dot",
    show_default=True,
    help="dot for Graphviz (`scisync graph | dot -Tsvg > graph.svg`), mermaid for markdown.",
)
@click.pass_obj
def graph_command(
    options: GlobalOptions,
    manifest_files: tuple[Path, ...],
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    fmt: str,
) -> None:
    """Print how samples, datasets, downloads and publications depend on each other
    (offline)."""
    project = load_project(options, manifest_files, variables, var_files)
    click.echo(render_graph(api.graph(project), fmt), nl=False)
