"""`scisync validate` checks the local inputs offline: globs that match nothing and
missing attachment images, all at once; following each hint makes the manifest valid."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scisync.cli import main

MANIFEST = """\
version: 1
project: demo
scicat: {sandbox: ./.sb}
storage:
  local: {root: ./store}
defaults:
  datasets:
    owner_group: g1
    contact_email: a@b.c
    owner: ana
    creation_location: P03
    principal_investigator: ana
    creation_time: 2026-01-01T00:00:00Z
datasets:
  - key: one
    type: raw
    files: ["GLOB"]
    attachments:
      - {image: IMAGE, caption: Plot}
"""


def _validate(folder: Path, glob: str, image: str, *extra: str) -> tuple[int, str]:
    text = MANIFEST.replace("GLOB", glob).replace("IMAGE", image)
    (folder / "scisync.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["-C", str(folder), "validate", *extra])
    return result.exit_code, result.output


def test_missing_inputs_are_reported_together_and_the_hints_work(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "scan.h5").write_bytes(b"x")
    code, output = _validate(tmp_path, "data/*.nxs", "plot.png")
    assert code == 1
    assert "scisync.yaml:17:13: datasets[0].files[0]: no file matches ['data/*.nxs']" in output
    assert "attachment image" in output and "plot.png does not exist" in output
    # Follow the hints: fix the pattern, create the image.
    (tmp_path / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    code, output = _validate(tmp_path, "data/*.h5", "plot.png")
    assert code == 0, output


def test_json_lists_them_as_problems(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, "none/*", "missing.png", "--json")
    assert code == 1
    report = json.loads(output)
    assert report["valid"] is False
    whats = [p["what"] for p in report["problems"]]
    assert any("no file matches" in w for w in whats)
    assert any("missing.png does not exist" in w for w in whats)
