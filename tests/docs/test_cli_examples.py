"""docs/cli.md shows real plans: each example marked ``<!-- golden: FILE -->`` is, byte
for byte, the golden file tests/render/test_golden.py checks against the renderer."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cli.md"
GOLDEN = ROOT / "tests" / "render" / "golden"
EXAMPLE = re.compile(r"<!-- golden: (\S+) -->\n```\n(.*?)```\n", re.DOTALL)


def test_cli_examples_are_the_golden_plans() -> None:
    examples = EXAMPLE.findall(PAGE.read_text(encoding="utf-8"))
    names = [name for name, _ in examples]
    # The description and metadata cases and the conflicts are documented.
    assert {"description-edit.txt", "metadata-nested.txt", "conflicts.txt"} <= set(names)
    for name, shown in examples:
        assert shown == (GOLDEN / name).read_text(encoding="utf-8"), f"docs/cli.md: {name}"


def test_every_golden_marker_is_followed_by_its_block() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert text.count("<!-- golden: ") == len(EXAMPLE.findall(text))
