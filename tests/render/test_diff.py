"""The structure of value changes: a table of cases for each pure helper."""

from __future__ import annotations

import random

import pytest

from scisync._util.jsontypes import Json
from scisync.plan.model import FieldChange
from scisync.render.diff import (
    ABSENT,
    Fold,
    LineChange,
    Sign,
    changed_span,
    child_path,
    fold_context,
    leaf_changes,
    line_diff,
)
from scisync.render.fields import Layout, field_lines


def _plain(text: str, fg: str | None = None, *, bold: bool = False) -> str:
    return text


LAYOUT = Layout(_plain, False, 60, False)
COMPACT = Layout(_plain, False, 60, True)

LEAF_CASES: list[tuple[Json, Json, list[tuple[str, str]], int]] = [
    # before, after, [(sign, path)], unchanged
    ("a", "a", [], 1),
    ("a", "b", [("~", "")], 0),
    (1, True, [("~", "")], 0),  # true is not 1
    ({"a": 1, "b": 2}, {"a": 1, "b": 3}, [("~", "b")], 1),
    ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, [("+", "a.c")], 1),
    ({"a": {"b": 1}, "x": 1}, {"x": 1}, [("-", "a.b")], 1),
    ({"q": {"value": 1, "unit": "mm"}}, {"q": {"value": 2, "unit": "mm"}}, [("~", "q")], 0),
    ({"odd key": 1}, {"odd key": 2}, [("~", '["odd key"]')], 0),
    ([1, 2, 3], [1, 9, 3], [("~", "[1]")], 2),
    ([1, 2], [0, 1, 2], [("+", "[0]")], 2),  # an insertion does not shift the others
    ([1, 2, 3], [1, 3], [("-", "[1]")], 2),
    ({"l": [{"a": 1}]}, {"l": [{"a": 2}]}, [("~", "l[0].a")], 0),
    ({}, {"new": {"deep": {"x": 1}}}, [("+", "new.deep.x")], 0),
]


@pytest.mark.parametrize(("before", "after", "expected", "unchanged"), LEAF_CASES)
def test_leaf_changes(
    before: Json, after: Json, expected: list[tuple[str, str]], unchanged: int
) -> None:
    leaves = leaf_changes(before, after)
    assert [(leaf.sign.value, leaf.path) for leaf in leaves.changed] == expected
    assert leaves.unchanged == unchanged


def test_added_and_removed_leaves_carry_absent() -> None:
    [leaf] = leaf_changes({}, {"a": 1}).changed
    assert leaf.before is ABSENT and leaf.after == 1


@pytest.mark.parametrize(
    ("path", "key", "expected"),
    [("", "a", "a"), ("a", "b", "a.b"), ("a", 3, "a[3]"), ("", 'x "y"', '["x \\"y\\""]')],
)
def test_child_path(path: str, key: str | int, expected: str) -> None:
    assert child_path(path, key) == expected


@pytest.mark.parametrize(
    ("before", "after", "old", "new"),
    [
        ("two scans each", "three scans each", "two", "three"),
        ("abc", "abd", "abc", "abd"),  # widened to the whole word
        ("at 20 °C", "at 25 °C", "20", "25"),
        ("same", "same", "", ""),
        ("", "new", "", "new"),
        ("x. y", "x. z", "y", "z"),
    ],
)
def test_changed_span(before: str, after: str, old: str, new: str) -> None:
    span = changed_span(before, after)
    assert before[span.head : span.before_end] == old
    assert after[span.head : span.after_end] == new
    assert before[: span.head] == after[: span.head]
    assert before[span.before_end :] == after[span.after_end :]


def test_line_diff_and_folding() -> None:
    before = "\n".join(f"line {i}" for i in range(10))
    after = before.replace("line 5", "line five")
    diff = line_diff(before, after)
    assert [d for d in diff if d.sign is not Sign.KEEP] == [
        LineChange(Sign.REMOVE, "line 5"),
        LineChange(Sign.ADD, "line five"),
    ]
    folded = fold_context(diff, 1)
    assert folded[0] == Fold(4) and folded[-1] == Fold(3)
    assert LineChange(Sign.ADD, "line five") in folded


def test_a_change_in_a_long_string_is_always_on_screen() -> None:
    """Random edits anywhere in long strings: both changed parts are shown, in both modes."""
    rng = random.Random(12)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    for _ in range(200):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(15, 60)))
        at = rng.randrange(len(text))
        edited = text[:at] + rng.choice(["X", "", "YY"]) + text[at + rng.randint(0, 3) :]
        if edited == text:
            continue
        span = changed_span(text, edited)
        for layout in (LAYOUT, COMPACT):
            shown = "\n".join(field_lines(FieldChange("description", text, edited), False, layout))
            assert f"[-{text[span.head : span.before_end]}-]" in shown
            assert f"{{+{edited[span.head : span.after_end]}+}}" in shown
            if layout is LAYOUT:
                assert text[: span.head] in shown and text[span.before_end :] in shown


def test_server_added_si_values_are_not_a_change() -> None:
    from tests.render.golden_corpus import metadata_nested

    text = "\n".join(
        line
        for change in metadata_nested().changes
        for field in change.field_changes
        for line in field_lines(field, False, LAYOUT)
    )
    assert "valueSI" not in text and "unitSI" not in text
    assert "~ temperature: 293.15 K → 298.15 K" in text
    assert "~ sample.thickness: 80 nm → 85 nm" in text
    assert "- sample.batch" in text and "+ energy: 12.4 keV" in text
