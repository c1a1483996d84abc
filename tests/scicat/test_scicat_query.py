"""Dataset queries: DatasetQuery's rules, and query_datasets against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scisync.errors import QueryLimitError
from scisync.sandbox import SandboxServer
from scisync.scicat.client import ScicatClient
from scisync.scicat.query import DatasetQuery, MetadataCondition, glob_to_regex

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# name, type, owner group, proposal, keywords, creation day, scientific metadata
CATALOGUE: list[tuple[str, str, str, str, list[str], int, dict[str, Any]]] = [
    (
        "run-1 cold",
        "raw",
        "ingestor",
        "p1",
        ["a", "b"],
        1,
        {"temperature": {"value": 2, "unit": "K"}},
    ),
    (
        "run-2 warm",
        "raw",
        "ingestor",
        "p1",
        ["a"],
        2,
        {"temperature": {"value": 0, "unit": "degC"}},
    ),
    (
        "run-3 milli",
        "raw",
        "ingestor",
        "p2",
        ["b"],
        3,
        {"temperature": {"value": 5000, "unit": "mK"}},
    ),
    ("run-4 bare", "derived", "ingestor", "p2", ["a", "b"], 4, {"temperature": 300}),
    ("run-5 length", "derived", "group1", "p3", [], 5, {"temperature": {"value": 9, "unit": "m"}}),
    ("other", "raw", "group1", "p3", ["a"], 6, {"sample": "silicon"}),
]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with SandboxServer(tmp_path_factory.mktemp("query-sandbox")) as server:
        admin = ScicatClient(server.url, server.login("admin"), backoff_factor=0)
        for name, kind, group, proposal, keywords, day, meta in CATALOGUE:
            admin.create_dataset(
                {
                    "type": kind,
                    "datasetName": name,
                    "ownerGroup": group,
                    "contactEmail": "a@example.org",
                    "sourceFolder": f"/data/{name.replace(' ', '_')}",
                    "creationTime": f"2026-01-0{day}T12:00:00Z",
                    "proposalIds": [proposal],
                    "keywords": keywords,
                    "scientificMetadata": meta,
                }
            )
        yield server


def _names(server: SandboxServer, query: DatasetQuery, user: str = "admin") -> list[str]:
    client = ScicatClient(server.url, server.login(user), backoff_factor=0)
    found = client.query_datasets(query, limit=100)
    return sorted(str(d.fields["datasetName"]) for d in found)


def _above(value: float, unit: str | None, relation: Any = ">") -> DatasetQuery:
    return DatasetQuery(metadata=(MetadataCondition("temperature", relation, value, unit),))


QUERIES = [
    (
        DatasetQuery(proposal_ids=("p1", "p3")),
        ["other", "run-1 cold", "run-2 warm", "run-5 length"],
    ),
    (DatasetQuery(keywords=("a", "b")), ["run-1 cold", "run-4 bare"]),
    (DatasetQuery(dataset_type="derived"), ["run-4 bare", "run-5 length"]),
    (DatasetQuery(owner_groups=("group1",)), ["other", "run-5 length"]),
    (
        DatasetQuery(created_from=T0.replace(day=2), created_until=T0.replace(day=4)),
        ["run-2 warm", "run-3 milli"],
    ),
    (
        DatasetQuery(created_from=datetime(2026, 1, 4, 12, tzinfo=UTC)),
        ["other", "run-4 bare", "run-5 length"],
    ),
    (DatasetQuery(name_pattern="run-? *m"), ["run-2 warm"]),
    (DatasetQuery(name_pattern="RUN-*"), []),  # case-sensitive
    # SI comparison: 0 degC = 273.15 K and 5000 mK = 5 K match, 2 K does not; a bare number
    # and a quantity in metres never match a condition with a unit.
    (_above(4, "K"), ["run-2 warm", "run-3 milli"]),
    (_above(-270, "degC"), ["run-2 warm", "run-3 milli"]),
    (_above(5, "K", ">="), ["run-2 warm", "run-3 milli"]),
    (_above(5, "K", "<"), ["run-1 cold"]),
    (_above(4, "cm"), ["run-5 length"]),
    # Without a unit the raw value (the key itself or its value) is compared: 5000 mK > 100.
    (_above(100, None), ["run-3 milli", "run-4 bare"]),
    (_above(1, None, "<"), ["run-2 warm"]),
    (_above((2, 5), "K", "range"), []),  # open at both ends
    (_above((1.9, 5.1), "K", "range"), ["run-1 cold", "run-3 milli"]),
    (DatasetQuery(metadata=(MetadataCondition("sample", "==", "silicon"),)), ["other"]),
    (
        DatasetQuery(
            proposal_ids=("p1", "p2"), dataset_type="raw", metadata=(_above(4, "K").metadata)
        ),
        ["run-2 warm", "run-3 milli"],
    ),
]


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_query_semantics(
    catalogue: SandboxServer, query: DatasetQuery, expected: list[str]
) -> None:
    assert _names(catalogue, query) == expected


def test_non_admins_see_their_groups_only(catalogue: SandboxServer) -> None:
    assert _names(catalogue, DatasetQuery(keywords=("a",)), user="user1") == ["other"]


def test_results_carry_file_lists_and_pages_are_batched(catalogue: SandboxServer) -> None:
    client = ScicatClient(catalogue.url, catalogue.login("admin"), backoff_factor=0)
    found = client.query_datasets(DatasetQuery(name_pattern="run-*"), limit=10, batch_size=2)
    assert [d.fields["datasetName"] for d in found][:1] and len(found) == 5
    assert [d.pid for d in found] == sorted(d.pid for d in found)
    assert all(d.files == () for d in found)
    stats = catalogue.stats()
    assert stats["GET /v3/datasets/fullquery"] >= 3  # pages of 2, 2, 1
    assert "GET /v3/datasets" not in stats  # never a catalogue listing


def test_more_matches_than_the_limit_is_an_error(catalogue: SandboxServer) -> None:
    client = ScicatClient(catalogue.url, catalogue.login("admin"), backoff_factor=0)
    before = client.request_count
    with pytest.raises(QueryLimitError) as failure:
        client.query_datasets(DatasetQuery(name_pattern="run-*"), limit=3, batch_size=100)
    assert "more than 3 datasets" in str(failure.value)
    assert client.request_count - before == 1  # one page of limit + 1, no file lists read
    assert len(client.query_datasets(DatasetQuery(name_pattern="run-*"), limit=5)) == 5


def test_files_of_matches_are_returned(scicat_sandbox: SandboxServer) -> None:
    client = ScicatClient(scicat_sandbox.url, scicat_sandbox.login("ingestor"), backoff_factor=0)
    pid = client.create_dataset(
        {
            "type": "raw",
            "datasetName": "with files",
            "ownerGroup": "ingestor",
            "contactEmail": "a@example.org",
            "sourceFolder": "/data/with_files",
            "creationTime": "2026-01-01T00:00:00Z",
            "keywords": ["files"],
        }
    )["pid"]
    assert isinstance(pid, str)
    files = [{"path": "a.h5", "size": 3, "time": "2026-01-01T00:00:00Z", "chk": "x"}]
    client.create_origdatablock(pid, {"size": 3, "dataFileList": files, "chkAlg": "md5"})
    (found,) = client.query_datasets(DatasetQuery(keywords=("files",)), limit=1)
    assert [(f.path, f.size, f.chk) for f in found.files] == [("a.h5", 3, "x")]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DatasetQuery(), "at least one condition"),
        (lambda: DatasetQuery(proposal_ids=("",)), "non-empty strings"),
        (lambda: DatasetQuery(created_from=datetime(2026, 1, 1)), "needs a timezone"),
        (lambda: DatasetQuery(created_from=T0, created_until=T0), "earlier than"),
        (lambda: DatasetQuery(name_pattern=""), "must not be empty"),
        (lambda: MetadataCondition("a.b", ">", 1), "letters, digits"),
        (lambda: MetadataCondition("t", "!=", 1), "is not one of"),  # type: ignore[arg-type]
        (lambda: MetadataCondition("t", ">", "warm"), "needs a number"),
        (lambda: MetadataCondition("t", "==", "x", "K"), "needs a number"),
        (lambda: MetadataCondition("t", ">", float("nan")), "finite"),
        (lambda: MetadataCondition("t", ">", True), "finite"),
        (lambda: MetadataCondition("t", "range", (1,)), "(low, high)"),  # type: ignore[arg-type]
        (lambda: MetadataCondition("t", ">", 1, " "), "non-empty"),
    ],
)
def test_invalid_queries_are_refused(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_glob_translation() -> None:
    assert glob_to_regex("run-*.h5") == r"^run\-.*\.h5$"
    assert glob_to_regex("a?b c") == "^a.b c$"


def test_fields_sent_are_what_the_backend_reads() -> None:
    query = DatasetQuery(
        proposal_ids=("p1",),
        keywords=("k",),
        created_until=T0,
        metadata=(MetadataCondition("energy", "range", (1, 2), "keV"),),
    )
    assert query.to_fullquery_fields() == {
        "mode": {
            "proposalIds": {"$in": ["p1"]},
            "keywords": {"$all": ["k"]},
            "creationTime": {"$lt": "2026-01-01T00:00:00.000Z"},
        },
        "scientific": [{"lhs": "energy", "relation": "RANGE", "rhs": [1, 2], "unit": "keV"}],
    }
