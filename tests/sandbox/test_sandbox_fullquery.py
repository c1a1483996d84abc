"""GET /datasets/fullquery: the form fields as the backend turns them into a query."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scisync.sandbox import SandboxServer
from tests.sandbox.helpers import session, v4_dataset

# name, owner group, published, creation day, metadata
ROWS = [
    ("a", "ingestor", False, 1, {"t": {"value": 10, "unit": "K"}, "s": "x"}),
    ("b", "ingestor", True, 2, {"t": {"value": 20, "unit": "K"}}),
    ("c", "group1", True, 3, {"t": {"value": 30, "unit": "K"}}),
    ("d", "group1", False, 4, {"t": 40}),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with SandboxServer(tmp_path_factory.mktemp("fullquery")) as sandbox:
        admin = session(sandbox, "admin")
        for name, group, published, day, meta in ROWS:
            body = v4_dataset(
                datasetName=name,
                ownerGroup=group,
                isPublished=published,
                creationTime=f"2026-01-0{day}T00:00:00Z",
                scientificMetadata=meta,
            )
            reply = admin.post(f"{sandbox.root_url}/v4/datasets", json=body)
            assert reply.status_code == 201, reply.text
        yield sandbox


def _names(server: SandboxServer, user: str | None, fields: dict[str, Any]) -> list[str]:
    reply = session(server, user).get(
        f"{server.root_url}/v3/datasets/fullquery", params={"fields": json.dumps(fields)}
    )
    assert reply.status_code == 200, reply.text
    return sorted(d["datasetName"] for d in reply.json())


CASES = [
    ("admin", {}, ["a", "b", "c", "d"]),
    # non-admins: their groups only, not other groups' published datasets ...
    ("ingestor", {}, ["a", "b"]),
    # ... unless they ask for isPublished, which drops the group condition
    ("ingestor", {"isPublished": True}, ["b", "c"]),
    (None, {}, ["b", "c"]),  # anonymous: published only
    ("admin", {"ownerGroup": ["group1"]}, ["c", "d"]),
    ("admin", {"ownerGroup": ["group1", "ingestor"]}, ["a", "b", "c", "d"]),
    ("admin", {"creationTime": {"begin": "2026-01-02", "end": "2026-01-03T00:00:00Z"}}, ["b", "c"]),
    ("admin", {"mode": {"datasetName": {"$in": ["a", "d"]}}}, ["a", "d"]),
    (
        "admin",
        {"scientific": [{"lhs": "t", "relation": "GREATER_THAN", "rhs": -260, "unit": "degC"}]},
        ["b", "c"],
    ),
    ("admin", {"scientific": [{"lhs": "t", "relation": "LESS_THAN", "rhs": 35}]}, ["a", "b", "c"]),
    ("admin", {"scientific": [{"lhs": "t", "relation": "EQUAL_TO_NUMERIC", "rhs": 40}]}, []),
    ("admin", {"scientific": [{"lhs": "s", "relation": "EQUAL_TO_STRING", "rhs": "x"}]}, ["a"]),
    # the backend spreads `scientific` over `mode`: its $or replaces one in mode
    (
        "admin",
        {
            "mode": {"$or": [{"datasetName": "d"}]},
            "scientific": [{"lhs": "t", "relation": "GREATER_THAN", "rhs": 25}],
        },
        ["c", "d"],
    ),
]


@pytest.mark.parametrize(("user", "fields", "expected"), CASES)
def test_fullquery_cases(
    server: SandboxServer, user: str | None, fields: dict[str, Any], expected: list[str]
) -> None:
    assert _names(server, user, fields) == expected


def test_contains_string_fails_like_the_backend(server: SandboxServer) -> None:
    fields = {"scientific": [{"lhs": "s", "relation": "CONTAINS_STRING", "rhs": "x"}]}
    reply = session(server, "admin").get(
        f"{server.root_url}/v3/datasets/fullquery", params={"fields": json.dumps(fields)}
    )
    assert reply.status_code == 500
    assert reply.json()["message"] == "Internal server error"


def test_limits_page_and_order(server: SandboxServer) -> None:
    reply = session(server, "admin").get(
        f"{server.root_url}/v3/datasets/fullquery",
        params={"limits": json.dumps({"limit": 2, "skip": 1, "order": "datasetName:desc"})},
    )
    assert [d["datasetName"] for d in reply.json()] == ["c", "b"]
