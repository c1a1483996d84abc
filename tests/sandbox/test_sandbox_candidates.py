"""List queries answered from the indexes give exactly the full scan's answer.

``Candidates`` narrows what a list query reads (primary key, the ``refs`` index of
``store.INDEXED`` paths, the access index); the ``where`` still runs on what it read.
Each case compares that with the ``where`` run on every stored body, for every kind of
caller's read rule, on documents that put the indexed fields in every shape the
``where`` engine walks (strings, arrays, arrays of objects, numbers, objects, missing).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests

from scisync.sandbox import SandboxServer
from scisync.sandbox.candidates import Candidates, conjuncts, pinned_strings, reads_only_access
from scisync.sandbox.endpoints.base import DATASET_DATES, DATASETS
from scisync.sandbox.filters import Matcher
from scisync.sandbox.store import INDEXED, LAYOUT_VERSION, Store
from tests.sandbox.helpers import quoted, session, v4_dataset

MARKER = "scientificMetadata.scisync_marker"
MATCHER = Matcher(DATASET_DATES)

DOCS: list[dict[str, Any]] = [
    {"pid": "x/1", "ownerGroup": "g1", "accessGroups": ["g2"], "isPublished": False,
     "proposalIds": ["p1", "p2"], "type": "raw", "scientificMetadata": {"scisync_marker": "a"}},
    {"pid": "x/2", "ownerGroup": "g2", "isPublished": True, "type": "derived",
     "scientificMetadata": {"scisync_marker": ["a", "b"]}},
    {"pid": "x/3", "ownerGroup": "g1", "sharedWith": ["u@example.org"],
     "scientificMetadata": [{"scisync_marker": "b"}, {"scisync_marker": "c"}]},
    {"pid": "x/4", "ownerGroup": "g3", "scientificMetadata": {"scisync_marker": 5}},
    {"pid": "x/5", "ownerGroup": "g3", "isPublished": True,
     "scientificMetadata": {"scisync_marker": {"value": "a"}}},
    {"pid": "x/6", "ownerGroup": "g2", "sourceFolder": "/data/6", "sampleIds": ["s1"]},
    {"pid": "x/7", "ownerGroup": "g1", "type": "raw", "proposalIds": "p2",
     "scientificMetadata": {"scisync_marker": "A"}, "creationTime": "2026-01-02T00:00:00Z"},
    {"pid": "x/8", "ownerGroup": "g2", "accessGroups": ["g1"], "isPublished": False,
     "scientificMetadata": {"scisync_marker": None}},
]  # fmt: skip

WHERES: list[Any] = [
    {},
    {MARKER: "a"},
    {MARKER: {"$eq": "a"}},
    {MARKER: {"$in": ["a", "c"]}},
    {MARKER: {"$in": []}},
    {MARKER: {"$in": ["a", 5]}},  # not only strings: no index
    {MARKER: {"$in": ["a", None]}},
    {MARKER: 5},
    {MARKER: None},
    {MARKER: {"$in": ["b"]}, "ownerGroup": "g1"},
    {"$and": [{MARKER: {"$in": ["b"]}}, {"isPublished": True}]},
    {"$and": [{"ownerGroup": "g2"}, {"$and": [{MARKER: "a"}]}]},
    {"$or": [{MARKER: "a"}, {"ownerGroup": "g3"}]},
    {MARKER: {"$nin": ["a"]}},
    {MARKER: {"$in": ["a"]}, "$or": [{"type": "raw"}, {"type": "derived"}]},
    {"pid": "x/6"},
    {"_id": {"$in": ["x/1", "x/7", "nope"]}},
    {"pid": {"$in": ["x/1"]}, MARKER: "b"},
    {"proposalIds": "p2"},
    {"proposalIds": {"$in": ["p1", "p9"]}},
    {"sourceFolder": "/data/6"},
    {"sampleIds": {"$in": ["s1"]}},
    {"ownerGroup": {"$in": ["g1"]}},
    {"ownerGroup": {"$nin": ["g1"]}},
    {"type": "raw"},
    {"isPublished": True},
    {"accessGroups": "g2"},
    {"sharedWith": {"$in": ["u@example.org"]}},
    {"creationTime": {"$gte": "2026-01-01T00:00:00Z"}},
    {"$and": [{"isPublished": False}, {"$or": [{"ownerGroup": "g1"}, {"accessGroups": "g1"}]}]},
]

ADMIN = None
ANONYMOUS = {"isPublished": True}
MEMBER = {
    "$or": [
        {"ownerGroup": {"$in": ["g1"]}},
        {"accessGroups": {"$in": ["g1"]}},
        {"isPublished": True},
        {"sharedWith": {"$in": ["u@example.org"]}},
    ]
}


class CountingStore(Store):
    """The real store, counting how often a query read every body."""

    scans = 0

    def all(self, collection: str) -> list[dict[str, Any]]:
        self.scans += 1
        return super().all(collection)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> CountingStore:
    store = CountingStore(tmp_path_factory.mktemp("candidates"))
    with store.write() as tx:
        for doc in DOCS:
            tx.insert(DATASETS, doc["pid"], doc)
    return store


def _combined(where: Any, read: Any) -> Any:
    clauses = [c for c in (where, read) if c]
    return {"$and": clauses} if clauses else {}


@pytest.mark.parametrize("read", [ADMIN, ANONYMOUS, MEMBER], ids=["admin", "anonymous", "member"])
@pytest.mark.parametrize("where", WHERES, ids=[str(w) for w in WHERES])
def test_an_indexed_answer_is_the_full_scans_answer(
    store: CountingStore, where: Any, read: Any
) -> None:
    combined = _combined(where, read)
    candidates = Candidates(store, DATASETS, MATCHER, ("pid", "_id"), DATASET_DATES)
    scanned = [d["pid"] for d in MATCHER.select(store.all(DATASETS), combined)]
    answered = [d["pid"] for d in MATCHER.select(candidates.matching(combined), combined)]
    assert answered == scanned
    assert candidates.count(combined) == len(scanned)


@pytest.mark.parametrize(
    ("where", "reads_everything"),
    [
        ({MARKER: {"$in": ["a", "b"]}}, False),
        ({"proposalIds": "p1"}, False),
        ({"pid": "x/1"}, False),
        ({MARKER: {"$in": ["a", 5]}}, True),
        ({"datasetName": "n"}, True),
        ({"creationTime": "2026-01-02T00:00:00Z"}, True),  # a Date field: never indexed
    ],
)
def test_a_pinned_field_reads_only_its_documents(
    store: CountingStore, where: Any, reads_everything: bool
) -> None:
    candidates = Candidates(store, DATASETS, MATCHER, ("pid", "_id"), DATASET_DATES)
    before = store.scans
    candidates.matching(_combined(where, ADMIN))
    assert (store.scans > before) is reads_everything


def test_a_count_of_access_rules_reads_no_body(store: CountingStore) -> None:
    candidates = Candidates(store, DATASETS, MATCHER, ("pid", "_id"), DATASET_DATES)
    before = store.scans
    assert candidates.count(MEMBER) == 6  # x/1, x/2, x/3, x/5, x/7, x/8
    assert candidates.count({}) == len(DOCS)
    assert store.scans == before


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("a", ["a"]),
        ({"$eq": "a"}, ["a"]),
        ({"$in": ["a", "b"]}, ["a", "b"]),
        ({"$in": []}, []),
        ({"$in": ["a", 1]}, None),
        ({"$in": "a"}, None),
        ({"$eq": 1}, None),
        ({"$in": ["a"], "$nin": ["b"]}, None),
        ({"$regex": "a"}, None),
        (None, None),
        (["a"], None),
    ],
)
def test_only_string_conditions_are_pinned(condition: Any, expected: list[str] | None) -> None:
    assert pinned_strings(condition) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"isPublished": True}, True),
        (MEMBER, True),
        ({"accessGroups.0": "g"}, True),
        ({"ownerGroup": "g", "type": "raw"}, False),
        ({"$or": [{"ownerGroup": "g"}, {"type": "raw"}]}, False),
        ({"$where": "1"}, False),
        ({"$or": "not a list"}, False),
        ({}, False),
    ],
)
def test_which_conditions_read_only_access_fields(where: Any, expected: bool) -> None:
    assert reads_only_access(where) is expected


def test_conjuncts_walk_nested_ands_only() -> None:
    where = {"a": 1, "$and": [{"b": 2}, {"$and": [{"c": 3}]}], "$or": [{"d": 4}]}
    assert list(conjuncts(where)) == [{"a": 1}, {"b": 2}, {"c": 3}, {"$or": [{"d": 4}]}]
    assert list(conjuncts({"$and": [{"a": 1}, "x"]})) == [{"$and": [{"a": 1}, "x"]}]


def test_no_date_field_is_indexed() -> None:
    assert not set(INDEXED[DATASETS]) & DATASET_DATES


def _by_marker(server: SandboxServer, marker: str) -> list[str]:
    reply = session(server, "ingestor").get(
        server.root_url + "/v4/datasets",
        params={"filter": f'{{"where": {{"{MARKER}": {{"$in": ["{marker}"]}}}}}}'},
    )
    assert reply.status_code == 200, reply.text
    return [d["pid"] for d in reply.json()]


def test_every_write_keeps_the_index_in_step(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as server:
        api = session(server, "ingestor")
        body = v4_dataset(scientificMetadata={"scisync_marker": "old"})
        pid = api.post(server.root_url + "/v4/datasets", json=body).json()["pid"]
        assert _by_marker(server, "old") == [pid]
        api.patch(
            server.root_url + "/v4/datasets/" + quoted(pid),
            json={"scientificMetadata": {"scisync_marker": "new"}},
        ).raise_for_status()
        assert (_by_marker(server, "old"), _by_marker(server, "new")) == ([], [pid])
        admin = session(server, "admin")
        admin.delete(server.root_url + "/v4/datasets/" + quoted(pid)).raise_for_status()
        assert _by_marker(server, "new") == []
        counted = api.get(server.root_url + "/v4/datasets/count").json()
        assert counted == {"count": 0}


def test_a_layout_2_data_folder_gets_its_index_on_first_start(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as server:
        body = v4_dataset(scientificMetadata={"scisync_marker": "m"}, proposalIds=["p"])
        pid = session(server, "ingestor").post(server.root_url + "/v4/datasets", json=body)
        pid.raise_for_status()
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as conn:  # as layout 2 left it
        conn.execute("DELETE FROM refs WHERE collection LIKE 'datasets@%'")
        conn.execute("PRAGMA user_version=2")
    with SandboxServer(tmp_path) as server:
        assert _by_marker(server, "m") == [pid.json()["pid"]]
        reply = requests.get(
            server.url + "/datasets/fullquery",
            params={"fields": '{"mode": {"proposalIds": {"$in": ["p"]}}}'},
            headers={"Authorization": f"Bearer {server.login('ingestor')}"},
        )
        assert [d["pid"] for d in reply.json()] == [pid.json()["pid"]]
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (LAYOUT_VERSION,)
