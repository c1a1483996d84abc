"""``scisync pull``: download the manifest's downloads (datasets are not touched)."""

from __future__ import annotations

from pathlib import Path

import click

from scisync.cli.options import (
    GlobalOptions,
    json_events_option,
    load_project,
    lock_timeout_option,
    manifest_options,
    progress,
    target_option,
    use_color,
    writing,
)


@click.command("pull")
@manifest_options
@target_option
@click.option(
    "--locked",
    is_flag=True,
    help="Reproduce exactly what scisync.lock pins; any difference is an error.",
)
@lock_timeout_option
@json_events_option
@click.pass_obj
def pull_command(
    options: GlobalOptions,
    manifest_files: tuple[Path, ...],
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    targets: tuple[str, ...],
    locked: bool,
    lock_timeout: float,
    json_events: bool,
) -> None:
    """Download the manifest's `downloads:` (only those; datasets are not touched)."""
    from scisync import api
    from scisync.render.text import render_plan_text

    project = load_project(options, manifest_files, variables, var_files)
    if locked:
        api.require_lockfile(project)  # before the apply lock: nothing is written
    with writing(project, lock_timeout) as (guard, connection):
        the_plan = api.plan(
            project, connection, targets=targets, locked=locked, downloads_only=True
        )
        if not json_events:
            click.echo(render_plan_text(the_plan, color=use_color()), nl=False)
        api.refuse_conflicts(the_plan, shown=not json_events)
        with progress(json_events) as sink, guard.deferred() as cancel:
            outcome = api.apply(project, connection, the_plan, events=sink, cancel=cancel)
    if not json_events and outcome.lock_written:
        click.echo(f"Wrote {project.lock_path.name}.")
