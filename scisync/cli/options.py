"""Options and helpers shared by the commands: global options, manifest options, progress.

Nothing here decides anything a Python user of :mod:`scisync.api` would need: it turns
command-line text into the arguments of library calls.
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

from scisync.errors import ScisyncError
from scisync.scicat.http import RetryScheduled

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:  # the library is imported lazily so that --help stays fast
    from scisync.api import Connection, Project
    from scisync.apply.events import EventSink
    from scisync.cli.signals import SignalGuard


@dataclass
class GlobalOptions:
    """Options given before the command name (``scisync --debug -C dir plan``)."""

    debug: bool = False
    directory: Path = field(default_factory=Path.cwd)

    def path(self, given: Path) -> Path:
        """A path from the command line, relative to ``-C``."""
        return given if given.is_absolute() else self.directory / given


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
    return [options.path(path) for path in chosen]


def load_project(
    options: GlobalOptions,
    manifest_files: Sequence[Path],
    variables: Sequence[str],
    var_files: Sequence[Path],
) -> Project:
    """The project the manifest options name, loaded through :func:`scisync.api.load_project`."""
    from scisync import api

    return api.load_project(
        resolve_manifest_paths(options, manifest_files),
        variables=parse_variables(variables),
        var_files=[options.path(p) for p in var_files],
    )


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


@contextmanager
def progress(json_events: bool) -> Iterator[EventSink]:
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


def confirm_or_refuse(auto_approve: bool) -> None:
    """Ask before an apply that changes something; refuse when there is no one to ask."""
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


def print_retry(event: RetryScheduled) -> None:
    """The CLI's ``on_retry``: say on stderr what failed and when scisync tries again."""
    from scisync.render.progress import retry_line

    click.echo(retry_line(event), err=True)


@contextmanager
def connected(project: Project) -> Iterator[Connection]:
    """:func:`scisync.api.connect` for every command that talks to SciCat: retries are
    printed, and a token that expires soon is announced once, on stderr (an expired one
    was already refused, before anything was sent)."""
    from scisync import api
    from scisync.render.progress import token_expiry_line

    with api.connect(project, on_retry=print_retry) as connection:
        if connection.expiring_token is not None:
            click.echo(token_expiry_line(connection.expiring_token), err=True)
        yield connection


@contextmanager
def writing(project: Project, lock_timeout: float) -> Iterator[tuple[SignalGuard, Connection]]:
    """The one way a command that writes (apply, pull, import) starts: SIGINT/SIGTERM
    handled first (so a signal while waiting for the lock or connecting stops cleanly), then
    the apply lock, then SciCat and the storage.  Run the writes inside
    ``guard.deferred()`` with its cancellation token, so a signal stops them cooperatively.
    """
    from scisync import api
    from scisync.cli.signals import signals_handled

    with (
        signals_handled() as guard,
        api.apply_lock(project, lock_timeout),
        connected(project) as connection,
    ):
        yield guard, connection
