"""loader: YAML -> positioned nodes."""

from __future__ import annotations

from pathlib import Path

from scisync.manifest.nodes import Node, format_path
from scisync.manifest.problems import Problems
from scisync.manifest.yaml_nodes import load_file, load_text


def parse(text: str) -> tuple[Node | None, Problems]:
    problems = Problems()
    return load_text(text, "m.yaml", problems), problems


def test_every_key_and_scalar_keeps_its_position() -> None:
    root, problems = parse("a: 1\nlist:\n  - x\n  - {k: v}\n")
    assert root is not None and not problems
    assert root.key_positions["list"].line == 2
    items = root.mapping()["list"].sequence()
    assert (items[0].position.line, items[0].position.column) == (3, 5)
    inner = items[1].mapping()["k"]
    assert (inner.position.line, inner.position.column) == (4, 9)
    assert str(items[1].key_positions["k"]) == "m.yaml:4:6"


def test_scalars_are_typed_as_yaml_1_2_and_timestamps_stay_text() -> None:
    root, _ = parse(
        "i: 012\no: 0o17\nh: 0x1F\nu: 1_000\nf: 1.5\nn: ~\nb: true\ny: yes\n"
        "t: 2026-03-01T12:00:00Z\nneg: -3\n"
    )
    assert root is not None
    plain = root.to_plain()
    assert plain == {
        "i": 12,
        "o": 15,
        "h": 31,
        "u": 1000,
        "f": 1.5,
        "n": None,
        "b": True,
        "y": "yes",
        "t": "2026-03-01T12:00:00Z",
        "neg": -3,
    }


def test_all_duplicate_keys_are_reported_not_only_the_first() -> None:
    _, problems = parse("a: 1\nb: 2\na: 3\nc:\n  x: 1\n  x: 2\n")
    texts = [p.format() for p in problems.found]
    assert any("m.yaml:3:1: a: duplicate key 'a' (first written at m.yaml:1:1)" in t for t in texts)
    assert any("m.yaml:6:3: c.x: duplicate key 'x'" in t for t in texts)


def test_merge_keys_fill_in_and_local_keys_win() -> None:
    root, problems = parse("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n")
    assert root is not None and not problems
    assert root.to_plain()["use"] == {"y": 3, "x": 1}  # type: ignore[index]


def test_syntax_error_has_its_position() -> None:
    root, problems = parse("a: [1, 2\nb: 3\n")
    assert root is None
    (problem,) = problems.found
    assert problem.where is not None and problem.where.startswith("m.yaml:2:")
    assert "YAML syntax error" in problem.what


def test_missing_file_says_how_to_name_one(tmp_path: Path) -> None:
    problems = Problems()
    assert load_file(tmp_path / "nope.yaml", problems) is None
    (problem,) = problems.found
    assert "manifest file not found" in problem.what
    assert problem.hint is not None and "-f FILE" in problem.hint


def test_format_path_quotes_keys_that_are_not_plain() -> None:
    assert format_path(("datasets", 2, "files", 0, "include")) == "datasets[2].files[0].include"
    assert format_path(("a", "b.c", "d e")) == 'a["b.c"]["d e"]'
    assert format_path(()) == "(top level)"
