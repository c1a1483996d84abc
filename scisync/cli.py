"""The ``scisync`` command line: parse options, call the library, render, exit.

This module holds no logic a Python user would need to copy; every command is a thin
layer over a library function.  It is the one error boundary: a ScisyncError becomes
one clear message on stderr and exit code 1 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from scisync import __version__
from scisync.errors import ExitCode, ScisyncError
from scisync.secrets import redact

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:  # the library is imported lazily so that --help stays fast
    from scisync.api import Project
    from scisync.apply.events import EventSink


@dataclass
class GlobalOptions:
    """Options given before the command name (``scisync --debug -C dir plan``)."""

    debug: bool = False
    directory: Path = field(default_factory=Path.cwd)


def manifest_options(func: F) -> F:
    """The options every manifest-reading command takes: -f, --var, --var-file."""
    func = click.option(
        "-f",
        "--file",
        "manifest_files",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Manifest file (repeatable). Default: scisync.yaml in the working directory.",
    )(func)
    func = click.option(
        "--var",
        "variables",
        multiple=True,
        metavar="KEY=VALUE",
        help="Set a template variable, overriding the manifest's vars (repeatable).",
    )(func)
    func = click.option(
        "--var-file",
        "var_files",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="YAML file of template variables (repeatable; later files win).",
    )(func)
    return func


def parse_variables(pairs: Sequence[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``; a pair without ``=`` is a usage error."""
    variables: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--var")
        variables[name.strip()] = value
    return variables


def resolve_manifest_paths(options: GlobalOptions, files: Sequence[Path]) -> list[Path]:
    """Manifest paths relative to -C; the default is ./scisync.yaml."""
    chosen = list(files) or [Path("scisync.yaml")]
    return [path if path.is_absolute() else options.directory / path for path in chosen]


class ScisyncGroup(click.Group):
    """A click group whose invocation is the single error boundary."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScisyncError as error:
            options = ctx.find_object(GlobalOptions)
            if options is not None and options.debug:
                import traceback

                click.echo(redact("".join(traceback.format_exc())), err=True)
            click.echo(f"Error: {error.format()}", err=True)
            ctx.exit(ExitCode.ERROR)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:
            # Python would print the traceback itself, unredacted: an exception text from a
            # library can quote request headers, and so the token.
            options = ctx.find_object(GlobalOptions)
            if options is not None and options.debug:
                import traceback

                click.echo(redact("".join(traceback.format_exc())), err=True)
            click.echo(
                redact(f"Error: internal error: {type(error).__name__}: {error}")
                + " (a bug in scisync: please report it, with the output of --debug)",
                err=True,
            )
            ctx.exit(ExitCode.ERROR)


@click.group(cls=ScisyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scisync")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option(
    "-C",
    "--directory",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="Run as if started in DIR (manifests, lockfile and relative paths resolve there).",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, directory: Path | None) -> None:
    """scisync: declarative manifests for the SciCat data catalogue.

    Write scisync.yaml, run `scisync plan` to see what would change, and `scisync apply`
    to make SciCat and the file storage match it; scisync.lock records what exists.
    """
    ctx.obj = GlobalOptions(debug=debug, directory=(directory or Path.cwd()).resolve())


@main.command()
@manifest_options
@click.option("--json", "as_json", is_flag=True, help="Report the result (or problems) as JSON.")
@click.pass_obj
def validate(
    options: GlobalOptions,
    manifest_files: tuple[Path, ...],
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Check the manifest (YAML, schema, templates, references) without contacting SciCat."""
    if as_json:
        from scisync.render.validation import validation_json

        text, valid = validation_json(lambda: _load(options, manifest_files, variables, var_files))
        click.echo(text)
        if not valid:
            sys.exit(ExitCode.ERROR)
        return
    manifest = _load(options, manifest_files, variables, var_files).manifest
    click.echo(
        f"{', '.join(str(p) for p in manifest.sources)}: valid "
        f"({len(manifest.datasets)} datasets, {len(manifest.samples)} samples, "
        f"{len(manifest.downloads)} downloads)"
    )


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _load(
    options: GlobalOptions,
    manifest_files: Sequence[Path],
    variables: Sequence[str],
    var_files: Sequence[Path],
) -> Project:
    from scisync.api import load_project

    return load_project(
        resolve_manifest_paths(options, manifest_files),
        variables=parse_variables(variables),
        var_files=[p if p.is_absolute() else options.directory / p for p in var_files],
    )


@contextmanager
def _progress(json_events: bool) -> Iterator[EventSink]:
    """Progress on stderr (a live display on a terminal), or JSON lines on stdout."""
    from scisync.render.progress import progress_sink

    stream = sys.stdout if json_events else sys.stderr
    sink = progress_sink(stream, json_lines=json_events, tty=stream.isatty() and not json_events)
    try:
        yield sink
    finally:
        close = getattr(sink, "close", None)
        if close is not None:
            close()  # clear a half-drawn status line before any error is printed


def _confirm_or_refuse(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise ScisyncError(
            "apply needs confirmation, and there is no terminal to ask on",
            hint="pass --auto-approve (for CI), or apply a saved plan: "
            "`scisync plan --out plan.json` then `scisync apply plan.json`",
        )
    if not click.confirm("Apply these changes? SciCat datasets cannot be deleted.", default=False):
        raise click.Abort()


target_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="KEY",
    help="Limit to this entry (and what it depends on); repeatable.",
)
lock_timeout_option = click.option(
    "--lock-timeout",
    default=0.0,
    show_default=True,
    type=float,
    metavar="SECONDS",
    help="Wait this long for another apply (or pull) on this lockfile to finish.",
)
json_events_option = click.option(
    "--json", "json_events", is_flag=True, help="Report progress as JSON lines."
)


@main.command()
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
@click.pass_obj
def plan(
    options: GlobalOptions,
    manifest_files: tuple[Path, ...],
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
    targets: tuple[str, ...],
    out: Path | None,
    as_json: bool,
    detailed_exitcode: bool,
    locked: bool,
) -> None:
    """Show what apply would change in SciCat, the storage and scisync.lock."""
    from scisync import api
    from scisync.plan.codec import save_plan
    from scisync.render.json import render_plan_json
    from scisync.render.text import render_plan_text

    project = _load(options, manifest_files, variables, var_files)
    with api.connect(project) as connection:
        the_plan = api.plan(project, connection, targets=targets, locked=locked)
    if out is not None:
        save_plan(out if out.is_absolute() else options.directory / out, the_plan)
    if as_json:
        click.echo(render_plan_json(the_plan), nl=False)
    else:
        click.echo(render_plan_text(the_plan, color=use_color()), nl=False)
        if out is not None:
            click.echo(f"Saved the plan to {out}; apply it with `scisync apply {out}`.")
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(ExitCode.CHANGES)


@main.command()
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
def apply(
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
    from scisync.plan.codec import load_plan
    from scisync.render.text import render_plan_text

    project = _load(options, manifest_files, variables, var_files)
    with api.apply_lock(project, lock_timeout), api.connect(project) as connection:
        left = api.interrupted_apply(project)
        if left:
            click.echo(
                f"Resuming an interrupted apply ({left} journal entries); what it completed "
                "is found again, nothing is created twice.",
                err=True,
            )
        if plan_file is not None:
            the_plan = load_plan(
                plan_file if plan_file.is_absolute() else options.directory / plan_file
            )
            api.check_fresh(project, connection, the_plan)
        else:
            the_plan = api.plan(project, connection, targets=targets)
            if not json_events:
                click.echo(render_plan_text(the_plan, color=use_color()), nl=False)
            if the_plan.has_changes:
                _confirm_or_refuse(auto_approve)
        with _progress(json_events) as sink:
            outcome = api.apply(project, connection, the_plan, events=sink, workers=workers)
    if not json_events and outcome.lock_written:
        click.echo(f"Wrote {project.lock_path.name}.")


@main.command()
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
def pull(
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

    project = _load(options, manifest_files, variables, var_files)
    with api.apply_lock(project, lock_timeout), api.connect(project) as connection:
        the_plan = api.plan(
            project, connection, targets=targets, locked=locked, downloads_only=True
        )
        if not json_events:
            click.echo(render_plan_text(the_plan, color=use_color()), nl=False)
        with _progress(json_events) as sink:
            outcome = api.apply(project, connection, the_plan, events=sink)
    if not json_events and outcome.lock_written:
        click.echo(f"Wrote {project.lock_path.name}.")


def run() -> None:
    """Entry point used by ``python -m scisync``."""
    sys.exit(main())


def _register_subcommands() -> None:
    """Commands that live beside the library they drive (imported lazily by click)."""
    from scisync.importer_command import import_command
    from scisync.init_command import init_command
    from scisync.sandbox.command import sandbox_command
    from scisync.scicat.command import login_command

    main.add_command(sandbox_command)
    main.add_command(login_command)
    main.add_command(import_command)
    main.add_command(init_command)


_register_subcommands()
