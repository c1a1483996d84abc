"""``scisync plan``: show what apply would change."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scisync.cli.options import (
    GlobalOptions,
    connected,
    load_project,
    manifest_options,
    target_option,
    use_color,
)
from scisync.errors import ExitCode


@click.command("plan")
@manifest_options
@target_option
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save the plan to apply it later.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan as JSON (schemas/plan.schema.json)."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none."
)
@click.option("--locked", is_flag=True, help="Fail if downloads no longer match scisync.lock.")
@click.option(
    "--compact",
    is_flag=True,
    help="Fold unchanged lines of long texts (changes are always shown).",
)
@click.pass_obj
def plan_command(
    options: GlobalOptions,
    manifest_files: tuple[Path, ...],
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    targets: tuple[str, ...],
    out: Path | None,
    as_json: bool,
    detailed_exitcode: bool,
    locked: bool,
    compact: bool,
) -> None:
    """Show what apply would change in SciCat, the storage and scisync.lock."""
    from scisync import api
    from scisync.render.json import render_plan_json
    from scisync.render.text import render_plan_text

    project = load_project(options, manifest_files, variables, var_files)
    if locked:
        api.require_lockfile(project)  # before connecting: nothing starts for nothing
    with connected(project) as connection:
        # JSON lists every file of every dataset: settled ones are planned in full for it.
        the_plan = api.plan(project, connection, targets=targets, locked=locked, settle=not as_json)
    if out is not None and not the_plan.has_conflicts:
        api.save_plan(options.path(out), the_plan)
    if as_json:
        click.echo(render_plan_json(the_plan), nl=False)
    else:
        click.echo(render_plan_text(the_plan, color=use_color(), compact=compact), nl=False)
        if out is not None and not the_plan.has_conflicts:
            click.echo(f"Saved the plan to {out}; apply it with `scisync apply {out}`.")
    api.refuse_conflicts(the_plan, shown=True)
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(ExitCode.CHANGES)
