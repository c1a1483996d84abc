"""The example in docs/python-api.md runs, against the embedded sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scisync._util.secrets import forget_secrets

PAGE = Path(__file__).resolve().parents[2] / "docs" / "python-api.md"
MARK = "<!-- executed by tests/docs/test_python_api.py -->"


def _example() -> str:
    text = PAGE.read_text(encoding="utf-8")
    found = re.search(re.escape(MARK) + r"\n```python\n(.*?)```", text, re.DOTALL)
    assert found, f"{PAGE} lost its executed example"
    return found.group(1)


def test_the_python_api_example_publishes_and_then_plans_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCICAT_TOKEN", raising=False)
    try:
        exec(compile(_example(), str(PAGE), "exec"), {"__name__": "__example__"})
    finally:
        forget_secrets()
    printed = capsys.readouterr().out
    assert "+ dataset.fit will be created" in printed
    assert "create dataset.fit" in printed
    assert "ApplySummary(created=1" in printed
    lock = json.loads((tmp_path / "api-example" / "scisync.lock").read_text())
    assert f"pid: {lock['datasets']['fit']['pid']}" in printed
