"""``where`` evaluation with MongoDB's semantics, limits and projection (no HTTP)."""

from __future__ import annotations

from typing import Any

import pytest

from scisync.sandbox.filters import (
    FilterError,
    Matcher,
    Page,
    apply_page,
    page_v3,
    project,
    v3_where,
)

DOC: dict[str, Any] = {
    "pid": "p/1",
    "size": 10,
    "isPublished": False,
    "keywords": ["a", "b"],
    "creationTime": "2026-01-02T03:04:05.000Z",
    "relationships": [{"targetId": "x", "targetType": "dataset"}, {"targetId": "y"}],
    "scientificMetadata": {"marker": "m1", "t": {"value": 5, "unit": "K"}},
}
MATCHER = Matcher(frozenset({"creationTime"}))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"pid": "p/1"}, True),
        ({"pid": "p/2"}, False),
        ({"keywords": "a"}, True),  # scalar matches an array element
        ({"keywords": ["a", "b"]}, True),  # whole-array equality
        ({"keywords": {"$in": ["z", "b"]}}, True),
        ({"keywords": {"$nin": ["a"]}}, False),
        ({"size": {"$gt": 9, "$lte": 10}}, True),
        ({"size": {"$gt": "9"}}, False),  # no cross-type comparison
        ({"size": 10.0}, True),
        ({"isPublished": 0}, False),  # a boolean is not a number
        ({"missing": None}, True),
        ({"missing": {"$exists": False}}, True),
        ({"pid": {"$exists": True}}, True),
        ({"pid": {"$regex": "^P/", "$options": "i"}}, True),
        ({"pid": {"$not": {"$regex": "^p"}}}, False),
        ({"relationships.targetId": {"$in": ["y"]}}, True),
        ({"relationships": {"$elemMatch": {"targetId": "x", "targetType": "dataset"}}}, True),
        ({"relationships": {"$elemMatch": {"targetId": "y", "targetType": "dataset"}}}, False),
        ({"scientificMetadata.marker": {"$in": ["m0", "m1"]}}, True),
        ({"scientificMetadata.t.value": {"$gte": 5}}, True),
        ({"$or": [{"pid": "nope"}, {"size": 10}]}, True),
        ({"$and": [{"pid": "p/1"}, {"size": 11}]}, False),
        ({"$nor": [{"pid": "nope"}]}, True),
        ({"creationTime": {"$gte": "2026-01-01"}}, True),  # schema date: string is cast
        ({"creationTime": "2026-01-02T03:04:05Z"}, True),
        ({"pid": {"$ne": "p/1"}}, False),
    ],
)
def test_where(where: dict[str, Any], expected: bool) -> None:
    assert MATCHER.matches(DOC, where) is expected
    assert (MATCHER.select([DOC], where) == [DOC]) is expected


def test_v3_renames_loopback_operators_and_converts_dates() -> None:
    converted = v3_where(
        {"or": [{"size": {"gt": 1}}, {"pid": {"inq": ["2026-01-01 x"]}}], "t": "2026-01-01"}
    )
    assert set(converted) == {"$or", "t"}
    assert converted["$or"][0] == {"size": {"$gt": 1}}
    assert converted["$or"][1] == {"pid": {"$in": ["2026-01-01 x"]}}  # arrays untouched
    assert type(converted["t"]).__name__ == "DateValue"
    assert MATCHER.matches(DOC, v3_where({"pid": {"ilike": "P/%"}})) is False
    assert MATCHER.matches(DOC, v3_where({"pid": {"ilike": "P/"}})) is True


def test_unknown_operator_is_a_filter_error() -> None:
    with pytest.raises(FilterError):
        MATCHER.matches(DOC, {"pid": {"$bogus": 1}})


def test_pages_sort_skip_and_limit() -> None:
    docs = [{"n": i % 3, "i": i} for i in range(7)]
    page = page_v3({"order": "n:desc,i:asc", "limit": 3, "skip": 1})
    assert [(d["n"], d["i"]) for d in apply_page(docs, page)] == [(2, 5), (1, 1), (1, 4)]
    assert len(apply_page(docs, Page(limit=0, skip=0, sort=()))) == 7


def test_projection_keeps_named_fields() -> None:
    assert project(DOC, ["pid", "scientificMetadata.marker"]) == {
        "pid": "p/1",
        "scientificMetadata": {"marker": "m1"},
    }
