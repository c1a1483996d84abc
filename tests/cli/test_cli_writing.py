"""One rule for commands that write: they all start through ``cli.options.writing``.

So every one of them handles SIGINT/SIGTERM the same way (exit 130/143, journaled, resumable),
holds the apply lock and announces an expiring token; the behaviour itself is tested per
command in tests/security/test_interruption.py (apply, pull) and
tests/adopt/test_import_interruption.py (import).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CLI = Path(__file__).parents[2] / "scisync" / "cli"
WRITES = re.compile(r"api\.(apply|import_dataset)\(")
STARTS = re.compile(r"\b(api\.apply_lock|signals_handled|api\.connect)\(")


def _commands() -> list[Path]:
    return sorted(p for p in CLI.glob("*.py") if p.name not in {"options.py", "signals.py"})


@pytest.mark.parametrize("module", _commands(), ids=lambda p: p.name)
def test_a_command_that_writes_starts_through_writing(module: Path) -> None:
    source = module.read_text(encoding="utf-8")
    assert not STARTS.search(source), f"{module.name}: use options.writing() or connected()"
    if WRITES.search(source):
        assert "writing(project" in source and "guard.deferred()" in source, module.name


def test_the_rule_sees_the_commands_that_write() -> None:
    writers = {p.name for p in _commands() if WRITES.search(p.read_text(encoding="utf-8"))}
    assert writers == {"apply.py", "pull.py", "import_.py"}
