"""The one error boundary: every exception a command raises ends here.

A :class:`~scisync.errors.ScisyncError` becomes one clear message on stderr and exit
code 1 (a traceback only with ``--debug``); anything else is a bug in scisync and is
reported as "internal error", redacted, never as a raw Python traceback.  Every message
passes through :mod:`scisync.render.safe`: it quotes server text and file names.
"""

from __future__ import annotations

import traceback
from typing import Any

import click

from scisync._util.secrets import redact
from scisync.cli.options import GlobalOptions
from scisync.errors import ExitCode, Interrupted, ScisyncError, from_os_error, is_file_system_error
from scisync.render.safe import safe_error, safe_message


def _echo_traceback(ctx: click.Context) -> None:
    options = ctx.find_object(GlobalOptions)
    if options is not None and options.debug:
        click.echo(redact("".join(traceback.format_exc())), err=True)


class ScisyncGroup(click.Group):
    """A click group whose invocation is the single error boundary."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Interrupted as error:
            # What completed was reported by the progress display; this says how to resume.
            text = safe_error(problem.format() for problem in error.problems)
            click.echo(f"Error: {text}", err=True)
            ctx.exit(error.exit_code)
        except ScisyncError as error:
            _echo_traceback(ctx)
            # Messages quote server text and file names: escaped, one problem per line.
            text = safe_error(problem.format() for problem in error.problems)
            click.echo(f"Error: {text}", err=True)
            ctx.exit(ExitCode.ERROR)
        except KeyboardInterrupt as error:
            # Before an apply's first side effect (planning, the prompt): nothing was written.
            click.echo("Interrupted.", err=True)
            ctx.exit(getattr(error, "exit_code", ExitCode.INTERRUPTED))
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:
            if is_file_system_error(error):
                # The operating system refused something no stage translated itself: a
                # condition of the user's machine (a full disk, a missing folder), no bug.
                _echo_traceback(ctx)
                problems = from_os_error(error).problems
                text = safe_error(problem.format() for problem in problems)
                click.echo(f"Error: {text}", err=True)
                ctx.exit(ExitCode.ERROR)
            # Python would print the traceback itself, unredacted: an exception text from a
            # library can quote request headers, and so the token.
            _echo_traceback(ctx)
            click.echo(
                safe_message(redact(f"Error: internal error: {type(error).__name__}: {error}"))
                + " (a bug in scisync: please report it, with the output of --debug)",
                err=True,
            )
            ctx.exit(ExitCode.ERROR)
