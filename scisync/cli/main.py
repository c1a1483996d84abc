"""The ``scisync`` click group: global options, and every command registered on it.

Each command lives in its own module of this package and is a thin layer over
:mod:`scisync.api`: parse options, call the library, render, exit.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from scisync._util.version import VERSION
from scisync.cli.apply import apply_command
from scisync.cli.boundary import ScisyncGroup
from scisync.cli.graph import graph_command
from scisync.cli.import_ import import_command
from scisync.cli.init import init_command
from scisync.cli.login import login_command
from scisync.cli.options import GlobalOptions
from scisync.cli.plan import plan_command
from scisync.cli.pull import pull_command
from scisync.cli.sandbox import sandbox_command
from scisync.cli.validate import validate_command


@click.group(cls=ScisyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="scisync")
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
    paramiko_log = logging.getLogger("paramiko")
    if not debug and not paramiko_log.handlers:
        # paramiko logs failed handshakes with tracebacks that quote the server's banner;
        # without a handler, Python's last-resort handler would print them raw on stderr.
        # scisync reports the failure itself, once, escaped.
        paramiko_log.addHandler(logging.NullHandler())


for _command in (
    init_command,
    validate_command,
    graph_command,
    plan_command,
    apply_command,
    pull_command,
    import_command,
    login_command,
    sandbox_command,
):
    main.add_command(_command)


def run() -> None:
    """Entry point used by ``python -m scisync``."""
    sys.exit(main())
