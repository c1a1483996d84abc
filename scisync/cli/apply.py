"""``scisync apply``: execute a plan (a saved one, or one made now and confirmed)."""

from __future__ import annotations

from pathlib import Path

import click

from scisync.cli.options import (
    GlobalOptions,
    confirm_or_refuse,
    json_events_option,
    load_project,
    lock_timeout_option,
    manifest_options,
    progress,
    target_option,
    use_color,
    writing,
)


@click.command("apply")
@click.argument("plan_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@manifest_options
@target_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@lock_timeout_option
@json_events_option
@click.option(
    "--workers",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Parallel operations.",
)
@click.pass_obj
def apply_command(
    options: GlobalOptions,
    plan_file: Path | None,
    manifest_files: tuple[Path, ...],
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    targets: tuple[str, ...],
    auto_approve: bool,
    lock_timeout: float,
    json_events: bool,
    workers: int,
) -> None:
    """Make SciCat and the storage match the manifest, and record it in scisync.lock.

    With PLAN_FILE (from `scisync plan --out`), apply exactly that plan, refusing it if
    anything moved on since; without, plan now, show it and ask for confirmation.
    """
    from scisync import api
    from scisync.render.text import render_plan_text, resume_notice

    project = load_project(options, manifest_files, variables, var_files)
    # A saved plan is read (and its digest checked) before anything is locked or started.
    saved = api.load_plan(options.path(plan_file)) if plan_file is not None else None
    with writing(project, lock_timeout) as (guard, connection):
        left = api.interrupted_apply(project)
        if left:
            click.echo(resume_notice(left), err=True)
        if saved is not None:
            the_plan = saved
            api.check_fresh(project, connection, the_plan)
        else:
            the_plan = api.plan(project, connection, targets=targets)
            if not json_events:
                click.echo(render_plan_text(the_plan, color=use_color()), nl=False)
            api.refuse_conflicts(the_plan, shown=not json_events)
            if the_plan.has_changes:
                confirm_or_refuse(auto_approve)
        with progress(json_events) as sink, guard.deferred() as cancel:
            outcome = api.apply(
                project, connection, the_plan, events=sink, workers=workers, cancel=cancel
            )
    if not json_events and outcome.lock_written:
        click.echo(f"Wrote {project.lock_path.name}.")
