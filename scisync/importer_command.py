"""``scisync import PID --key KEY``: the click command over :mod:`scisync.importer`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scisync.cli import GlobalOptions, _load, manifest_options, parse_variables

if TYPE_CHECKING:  # the library is imported when the command runs, so --help stays fast
    from scisync.importer import ImportResult


def result_json(result: ImportResult) -> str:
    """The machine-readable report of an import (``--json``)."""
    return json.dumps(
        {
            "key": result.key,
            "pid": result.pid,
            "manifest": str(result.manifest_path),
            "marker": result.marker,
            "marker_set": result.marker_set,
            "adopted": result.adopted,
            "lock_written": result.lock_written,
            "entry": result.entry,
            "pending_changes": [
                {"field": change.name, "before": change.before, "after": change.after}
                for change in result.pending
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def result_text(result: ImportResult, lock_name: str) -> list[str]:
    lines = [f"Added dataset {result.key!r} ({result.pid}) to {result.manifest_path.name}."]
    if result.marker_set:
        lines.append(
            f"Set scientificMetadata.scisync_marker = {result.marker!r} on {result.pid} "
            "(so scisync finds it again without the lockfile)."
        )
    if result.adopted:
        recorded = f"Recorded it in {lock_name}" if result.lock_written else "Already recorded"
        lines.append(f"{recorded}; `scisync plan` shows no changes for it.")
    else:
        lines.append(
            "Not recorded yet: applying the manifest would change these fields "
            "(probably from `defaults:`):"
        )
        lines += [f"  ~ {c.name}: {c.before!r} -> {c.after!r}" for c in result.pending]
        lines.append(
            f"Review with `scisync plan --target {result.key}`, then `scisync apply` "
            "(or set those fields in the new entry)."
        )
    return lines


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
    from scisync.importer import import_dataset

    project = _load(options, manifest_files, variables, var_files)
    with api.apply_lock(project, lock_timeout), api.connect(project) as connection:
        result = import_dataset(
            project,
            connection,
            pid,
            key,
            variables=parse_variables(variables),
            var_files=[p if p.is_absolute() else options.directory / p for p in var_files],
        )
    if as_json:
        click.echo(result_json(result))
    else:
        for line in result_text(result, project.lock_path.name):
            click.echo(line)
