"""``scisync validate``: check the manifest offline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scisync.cli.options import GlobalOptions, load_project, manifest_options
from scisync.errors import ExitCode


@click.command("validate")
@manifest_options
@click.option("--json", "as_json", is_flag=True, help="Report the result (or problems) as JSON.")
@click.pass_obj
def validate_command(
    options: GlobalOptions,
    manifest_files: tuple[Path, ...],
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Check the manifest (YAML, schema, templates, references) and its local files
    (globs that match nothing, missing attachment images) without contacting SciCat."""
    from scisync import api
    from scisync.render.validation import validation_json, validation_text

    def checked() -> api.Project:
        project = load_project(options, manifest_files, variables, var_files)
        api.check_local_inputs(project)
        return project

    if as_json:
        text, valid = validation_json(checked)
        click.echo(text)
        if not valid:
            sys.exit(ExitCode.ERROR)
        return
    click.echo(validation_text(checked().manifest))
