"""Architecture rules worth a test: only the CLI layer and renderers print."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "scisync"
PRINTING = re.compile(r"\bprint\(|click\.echo\(|click\.secho\(|sys\.std(out|err)\.write\(")


def _may_print(path: Path) -> bool:
    relative = path.relative_to(PACKAGE).as_posix()
    return (
        relative == "cli.py"
        or relative.startswith("render/")
        or relative.endswith("command.py")  # click commands that live beside their library
        or relative.endswith("__main__.py")
    )


def test_only_the_cli_layer_and_renderers_print() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not _may_print(path)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRINTING.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []
