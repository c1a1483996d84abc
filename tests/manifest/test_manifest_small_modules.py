"""Unit tests of the small helpers: globs, problems, merge, references, nodes."""

from __future__ import annotations

import pytest

from scisync.errors import ManifestError
from scisync.manifest.crossrefs import check_references
from scisync.manifest.globs import glob_problem
from scisync.manifest.merge import merge_documents
from scisync.manifest.nodes import Node, Position, from_plain
from scisync.manifest.problems import Problems, did_you_mean
from scisync.manifest.yaml_nodes import load_text


@pytest.mark.parametrize("pattern", ["*.h5", "data/**/*.csv", "**", "run-[0-9]/x", "a/b"])
def test_good_globs(pattern: str) -> None:
    assert glob_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("", "empty"),
        ("/abs/*.h5", "absolute"),
        ("../x", "'..'"),
        ("a**/b", "whole path component"),
        ("x[ab", "unclosed"),
        ("a\\b", "'/'"),
    ],
)
def test_bad_globs(pattern: str, fragment: str) -> None:
    problem = glob_problem(pattern)
    assert problem is not None and fragment in problem


def test_absolute_globs_are_allowed_where_asked() -> None:
    assert glob_problem("/data/*.h5", allow_absolute=True) is None


def test_did_you_mean() -> None:
    assert did_you_mean("ownr", ["owner", "owner_group"]) == "did you mean 'owner'?"
    assert did_you_mean("zzz", ["owner"]) is None


def test_problems_deduplicate_sort_and_raise() -> None:
    problems = Problems()
    assert not problems
    problems.add(Position("b.yaml", 3, 1), ("x",), "late")
    problems.add(Position("b.yaml", 1, 2), ("y",), "early", "fix it")
    problems.add(Position("b.yaml", 1, 2), ("y",), "early", "fix it")
    assert len(problems.found) == 2
    with pytest.raises(ManifestError) as caught:
        problems.raise_if_any()
    assert [p.format() for p in caught.value.problems] == [
        "b.yaml:1:2: y: early (fix it)",
        "b.yaml:3:1: x: late",
    ]


def _doc(text: str, name: str) -> Node:
    problems = Problems()
    node = load_text(text, name, problems)
    assert node is not None and not problems
    return node


def test_merge_concatenates_entries_and_merges_vars() -> None:
    one = _doc("version: 1\nvars: {a: 1}\ndatasets: [{key: x}]\n", "one.yaml")
    two = _doc("version: 1\nvars: {b: 2}\ndatasets: [{key: y}]\ndownloads: []\n", "two.yaml")
    problems = Problems()
    merged = merge_documents([one, two], problems)
    assert not problems
    assert merged.to_plain() == {
        "version": 1,
        "vars": {"a": 1, "b": 2},
        "datasets": [{"key": "x"}, {"key": "y"}],
        "downloads": [],
    }
    # each merged entry keeps the file it came from
    assert merged.mapping()["datasets"].sequence()[1].position.file == "two.yaml"


def test_merge_reports_disagreeing_scalars() -> None:
    one = _doc("version: 1\nproject: a\n", "one.yaml")
    two = _doc("project: b\n", "two.yaml")
    problems = Problems()
    merge_documents([one, two], problems)
    (problem,) = problems.found
    assert problem.where == "two.yaml:1:1: project"
    assert "one.yaml:2:1" in problem.what


def _keys(**kinds: str) -> dict[str, tuple[str, Position]]:
    return {key: (kind, Position("m.yaml", 1, 1)) for key, kind in kinds.items()}


def test_references_find_long_cycles_once() -> None:
    root = _doc(
        "datasets:\n"
        "  - {key: a, input_datasets: [b]}\n"
        "  - {key: b, input_datasets: [c]}\n"
        "  - {key: c, input_datasets: [a, {pid: x}]}\n",
        "m.yaml",
    )
    problems = Problems()
    check_references(root, _keys(a="dataset", b="dataset", c="dataset"), problems)
    (problem,) = problems.found
    assert "a -> b -> c -> a" in problem.what
    assert problem.where == "m.yaml:4:31: datasets[2].input_datasets[0]"


def test_references_accept_valid_graphs() -> None:
    root = _doc(
        "datasets:\n  - {key: a, sample: s}\n  - {key: b, input_datasets: [a, a]}\n"
        "downloads:\n  - {key: d, dataset: b}\n",
        "m.yaml",
    )
    problems = Problems()
    check_references(root, _keys(a="dataset", b="dataset", s="sample", d="download"), problems)
    assert not problems


def test_from_plain_wraps_values_at_one_position() -> None:
    node = from_plain({"a": [1, {"b": None}]}, Position("cli", 1, 1))
    assert node.to_plain() == {"a": [1, {"b": None}]}
    assert node.find(("a", 1, "b"))[1] == ("a", 1, "b")
    assert node.find(("a", 5))[1] == ("a",)
