"""``scisync init``: the click command over :mod:`scisync.starter`."""

from __future__ import annotations

import json

import click

from scisync.cli import GlobalOptions


@click.command("init")
@click.option("--project", metavar="NAME", help="Project name. Default: the folder's name.")
@click.option(
    "--url",
    metavar="URL",
    help="A real SciCat API URL. Default: the embedded sandbox (nothing leaves this machine).",
)
@click.option("--json", "as_json", is_flag=True, help="Report what was written as JSON.")
@click.pass_obj
def init_command(
    options: GlobalOptions, project: str | None, url: str | None, as_json: bool
) -> None:
    """Write a commented starter scisync.yaml and add .scisync/ to .gitignore."""
    from scisync.starter import init_project

    result = init_project(options.directory, project=project, url=url)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "manifest": str(result.manifest),
                    "schema": result.schema,
                    "gitignore": str(result.gitignore),
                    "gitignore_changed": result.gitignore_changed,
                },
                indent=2,
            )
        )
        return
    click.echo(f"Wrote {result.manifest.name} (schema for editors: {result.schema}).")
    if result.gitignore_changed:
        click.echo(f"Added scisync's local state folders to {result.gitignore.name}.")
    click.echo("Next: edit it, then `scisync validate` and `scisync plan`.")
