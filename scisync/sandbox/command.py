"""``scisync sandbox``: the click command the CLI registers (it owns printing)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import click

from scisync.sandbox.server import SandboxInfo, SandboxServer
from scisync.sandbox.settings import SandboxSettings

DEFAULT_DATA_DIR = Path(".scisync-sandbox")


def describe(info: SandboxInfo) -> list[str]:
    """The lines shown on start: where it listens and how to log in."""
    lines = [
        f"SciCat sandbox listening on {info.url}",
        f"data folder: {info.data_dir}",
        f"accounts (from {info.accounts_file}; demo only, never expose beyond localhost):",
    ]
    for username, password, groups in info.accounts:
        lines.append(f"  {username} / {password}  groups: {', '.join(groups) or '-'}")
    lines.append("Press Ctrl-C to stop.")
    return lines


def run_forever(
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    settings: SandboxSettings | None = None,
    on_start: Callable[[SandboxInfo], None] | None = None,
) -> None:
    """Serve until KeyboardInterrupt; ``on_start(info)`` runs once the port is bound."""
    server = SandboxServer(data_dir, host=host, port=port, settings=settings)
    server.start()
    try:
        if on_start is not None:
            on_start(server.info())
        threading.Event().wait()
    finally:
        server.stop()


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

    def announce(info: SandboxInfo) -> None:
        for line in describe(info):
            click.echo(line)

    try:
        run_forever(data_dir, host=host, port=port, on_start=announce)
    except KeyboardInterrupt:
        click.echo("sandbox stopped")
