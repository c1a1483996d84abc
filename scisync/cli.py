"""The ``scisync`` command line: parse options, call the library, render, exit.

This module holds no logic a Python user would need to copy; every command is a thin
layer over a library function.  It is the one error boundary: a ScisyncError becomes
one clear message on stderr and exit code 1 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from scisync import __version__
from scisync.errors import ExitCode, ScisyncError
from scisync.secrets import redact

F = TypeVar("F", bound=Callable[..., Any])


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
@click.pass_obj
def validate(
    options: GlobalOptions,
    manifest_files: tuple[Path, ...],
    variables: tuple[str, ...],
    var_files: tuple[Path, ...],
) -> None:
    """Check the manifest (YAML, schema, templates, references) without contacting SciCat."""
    from scisync.manifest import load_manifest

    paths = resolve_manifest_paths(options, manifest_files)
    manifest = load_manifest(paths, variables=parse_variables(variables), var_files=list(var_files))
    click.echo(
        f"{', '.join(str(p) for p in manifest.sources)}: valid "
        f"({len(manifest.datasets)} datasets, {len(manifest.samples)} samples, "
        f"{len(manifest.downloads)} downloads)"
    )


def run() -> None:
    """Entry point used by ``python -m scisync``."""
    sys.exit(main())
