"""``scisync sandbox``: run the SciCat-compatible sandbox server until Ctrl-C."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from scisync.render.sandbox import describe

if TYPE_CHECKING:
    # The server (and its web pages) is imported when the command runs: every other
    # command (`scisync plan` ...) starts without it.
    from scisync.sandbox.server import SandboxInfo

DEFAULT_DATA_DIR = Path(".scisync-sandbox")


@click.command("sandbox")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Folder where the sandbox keeps its catalogue, accounts and signing secret.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=3000, show_default=True, type=int, help="Port (0 = any free port).")
def sandbox_command(data_dir: Path, host: str, port: int) -> None:
    """Run a local SciCat-compatible server to try manifests against."""
    from scisync.sandbox.server import run_forever

    def announce(info: SandboxInfo) -> None:
        for line in describe(info):
            click.echo(line)

    try:
        run_forever(data_dir, host=host, port=port, on_start=announce)
    except KeyboardInterrupt:
        click.echo("sandbox stopped")
