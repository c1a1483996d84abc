"""``scisync import PID --key KEY``: the click command over :func:`scisync.api.import_dataset`."""

from __future__ import annotations

from pathlib import Path

import click

from scisync.cli.options import (
    GlobalOptions,
    load_project,
    manifest_options,
    parse_variables,
    writing,
)


@click.command("import")
@click.argument("pid")
@click.option("--key", required=True, metavar="KEY", help="Key of the new manifest entry.")
@manifest_options
@click.option(
    "--lock-timeout",
    default=0.0,
    show_default=True,
    type=float,
    metavar="SECONDS",
    help="Wait this long for another apply to finish.",
)
@click.option("--json", "as_json", is_flag=True, help="Report the result as JSON.")
@click.pass_obj
def import_command(
    options: GlobalOptions,
    pid: str,
    key: str,
    manifest_files: tuple[Path, ...],
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    lock_timeout: float,
    as_json: bool,
) -> None:
    """Adopt an existing SciCat dataset: add it to the manifest and to scisync.lock.

    Writes a `datasets:` entry for PID (its metadata, no `files:`, so its file list is
    left alone) to the first manifest file, sets scisync's marker on the dataset, and
    records it in scisync.lock, so the next `scisync plan` shows no changes for it.
    """
    from scisync import api
    from scisync.render.adopt import import_result_json, import_result_text

    project = load_project(options, manifest_files, variables, var_files)
    with writing(project, lock_timeout) as (guard, connection), guard.deferred() as cancel:
        result = api.import_dataset(
            project,
            connection,
            pid,
            key,
            variables=parse_variables(variables),
            var_files=[options.path(p) for p in var_files],
            cancel=cancel,
        )
    if as_json:
        click.echo(import_result_json(result))
    else:
        for line in import_result_text(result, project.lock_path.name):
            click.echo(line)
