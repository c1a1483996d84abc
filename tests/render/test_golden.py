"""Golden tests: the plan as a reader sees it, for a corpus of scenarios.

Each scenario of tests/render/golden_corpus.py is rendered as text without colour
(``<name>.txt``, the file to review), with colour (``<name>.color.txt``, the same text
once the ANSI styles are removed) and as JSON (``<name>.json``, valid against the plan
schema and read back to the same plan).  After an intended change of the output,
regenerate with ``SCISYNC_UPDATE_GOLDEN=1 pytest tests/render/test_golden.py`` and
review the diff of tests/render/golden/ as a reader would.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from scisync.plan.codec import plan_from_json
from scisync.render.json import render_plan_json
from scisync.render.text import render_plan_text
from scisync.schemas import schema_violations
from tests.render.golden_corpus import COMPACT, SCENARIOS

GOLDEN = Path(__file__).parent / "golden"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
UPDATE = os.environ.get("SCISYNC_UPDATE_GOLDEN") == "1"


def _check(path: Path, text: str) -> None:
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with SCISYNC_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs from the rendering"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_text_matches_golden(name: str) -> None:
    plain = render_plan_text(SCENARIOS[name](), color=False)
    _check(GOLDEN / f"{name}.txt", plain)
    assert "\x1b" not in plain  # no colour, and no control character from the data


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_colour_is_the_same_text_styled(name: str) -> None:
    coloured = render_plan_text(SCENARIOS[name](), color=True)
    _check(GOLDEN / f"{name}.color.txt", coloured)
    plain = (GOLDEN / f"{name}.txt").read_text(encoding="utf-8")
    if "[-" not in plain:  # spans are marked by colour instead of [-…-]{+…+}
        assert ANSI.sub("", coloured) == plain


@pytest.mark.parametrize("name", sorted(COMPACT))
def test_compact_matches_golden(name: str) -> None:
    _check(
        GOLDEN / f"{name}.compact.txt",
        render_plan_text(SCENARIOS[name](), color=False, compact=True),
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_json_is_schema_valid_and_reads_back(name: str) -> None:
    plan = SCENARIOS[name]()
    text = render_plan_json(plan)
    _check(GOLDEN / f"{name}.json", text)
    data = json.loads(text)
    assert schema_violations("plan", data) == []
    assert plan_from_json(data, name) == plan


def test_every_golden_file_belongs_to_a_scenario() -> None:
    names = {p.name.split(".")[0] for p in GOLDEN.iterdir()}
    assert names == set(SCENARIOS)
