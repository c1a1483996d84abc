"""``scisync init``: write a starter manifest (:mod:`scisync.adopt.starter`)."""

from __future__ import annotations

import click

from scisync.cli.options import GlobalOptions


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
    from scisync.adopt.starter import init_project
    from scisync.render.adopt import init_result_json, init_result_text

    result = init_project(options.directory, project=project, url=url)
    if as_json:
        click.echo(init_result_json(result))
        return
    for line in init_result_text(result):
        click.echo(line)
