"""Published data (DOI records) on the web page over HTTP: the API's rule, the table, a record."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from markupsafe import escape

from scisync.sandbox import SandboxServer
from scisync.sandbox.web.session import COOKIE
from tests.sandbox.helpers import session, v4_dataset

METADATA = {
    "creators": [{"name": "Ada Lovelace"}, {"name": "Charles Babbage"}],
    "publisher": {"name": "Sandbox Facility", "publisherIdentifierScheme": "ROR"},
    "publicationYear": 2026,
    "resourceType": "Dataset",
    "license": "CC-BY-4.0",
}
# (title, creator account, status): one record per row of the visibility table
RECORDS = [
    ("ingestor private", "ingestor", "private"),
    ("ingestor public", "ingestor", "public"),
    ("ingestor registered", "ingestor", "registered"),
    ("ingestor amended", "ingestor", "amended"),
    ("user1 private", "user1", "private"),
]
VISIBLE = {
    None: {"ingestor registered"},
    "ingestor": {"ingestor private", "ingestor public", "ingestor registered", "ingestor amended"},
    "user1": {"ingestor public", "ingestor registered", "ingestor amended", "user1 private"},
    "admin": {title for title, _, _ in RECORDS},
}


def _web(server: SandboxServer, user: str | None) -> requests.Session:
    s = requests.Session()
    if user is not None:
        s.cookies.set(COOKIE, server.login(user))
    return s


def _titles(html: str) -> list[str]:
    return sorted(re.findall(r'<a href="/publisheddata/[^"]+">([^<]+)</a>', html))


def _record(server: SandboxServer, user: str, **body: Any) -> dict[str, Any]:
    reply = session(server, user).post(f"{server.root_url}/v4/publisheddata", json=body)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _href(doi: str) -> str:
    return "publisheddata/" + quote(doi, safe="")


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> tuple[SandboxServer, dict[str, Any]]:
    """Five records in every status (created with it, not through publish and register)
    citing one published dataset of ingestor's."""
    server = SandboxServer(tmp_path_factory.mktemp("web-published")).start()
    api = session(server, "ingestor")
    dataset = api.post(
        server.root_url + "/v4/datasets", json=v4_dataset(datasetName="scan 7", isPublished=True)
    )
    pid = dataset.json()["pid"]
    records = {
        title: _record(
            server,
            user,
            title=title,
            abstract=f"abstract of {title}",
            datasetPids=[pid],
            status=status,
            metadata=METADATA,
        )
        for title, user, status in RECORDS
    }
    return server, {"pid": pid, "records": records}


@pytest.mark.parametrize("user", [None, "ingestor", "user1", "admin"])
def test_the_table_lists_exactly_what_the_api_lists(
    catalogue: tuple[SandboxServer, dict[str, Any]], user: str | None
) -> None:
    server, _ = catalogue
    api = session(server, user).get(server.root_url + "/v4/publisheddata")
    assert api.status_code == 200
    listed = sorted(r["title"] for r in api.json())
    page = _web(server, user).get(server.web_url + "publisheddata")
    assert page.status_code == 200
    assert _titles(page.text) == listed == sorted(VISIBLE[user])


@pytest.mark.parametrize("user", [None, "ingestor", "user1", "admin"])
def test_a_record_page_shows_what_the_list_shows(
    catalogue: tuple[SandboxServer, dict[str, Any]], user: str | None
) -> None:
    """Anonymous visitors: registered records only, by link or by typed URL alike; the
    page never shows a record the API's GET would refuse."""
    server, found = catalogue
    web, api = _web(server, user), session(server, user)
    for title, record in found["records"].items():
        doi = record["doi"]
        page = web.get(server.web_url + _href(doi))
        assert page.status_code == (200 if title in VISIBLE[user] else 404), (user, title)
        if page.status_code == 200:
            by_api = api.get(server.root_url + "/v4/publisheddata/" + quote(doi, safe=""))
            assert by_api.status_code == 200
        else:
            assert title not in page.text


def test_the_record_page_shows_every_field_and_links_its_dataset(
    catalogue: tuple[SandboxServer, dict[str, Any]],
) -> None:
    server, found = catalogue
    record = found["records"]["ingestor private"]
    page = _web(server, "ingestor").get(server.web_url + _href(record["doi"]))
    assert page.status_code == 200
    text = page.text
    for shown in (
        "ingestor private",
        "abstract of ingestor private",
        "Ada Lovelace",
        "Charles Babbage",
        "Sandbox Facility",
        "2026",
        "Dataset",
        record["doi"],
        "private",
        "CC-BY-4.0",  # the rest of the metadata
        record["pid"],  # the rest of the record
        "createdBy",
    ):
        assert shown in text, shown
    assert record["doi"].startswith("10.5072/")
    assert f'<a href="/datasets/{quote(found["pid"], safe="")}">scan 7</a>' in text
    typed = _web(server, "ingestor").get(server.web_url + "publisheddata/" + record["doi"])
    assert typed.status_code == 200  # the DOI's "/" as typed, not percent-encoded


def test_the_dataset_page_links_the_records_citing_it_that_the_visitor_may_see(
    catalogue: tuple[SandboxServer, dict[str, Any]],
) -> None:
    server, found = catalogue
    url = server.web_url + "datasets/" + quote(found["pid"], safe="")
    for user in (None, "ingestor", "user1", "admin"):
        page = _web(server, user).get(url)
        assert page.status_code == 200
        section = page.text[page.text.index('id="h-publications"') :]
        section = section[: section.index("</section>")]
        linked = set(re.findall(r'<a href="/publisheddata/[^"]+">([^<(]+) \(doi:', section))
        assert linked == VISIBLE[user], user
        for title in VISIBLE[user]:
            assert _href(found["records"][title]["doi"]) in section


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("sort=title&order=asc", 200),
        ("sort=creators&order=desc&status=registered", 200),
        ("sort=password", 400),
        ("order=sideways", 400),
        ("page=0", 400),
        ("page=99999", 200),  # past the end: the last page
        ("q=" + "x" * 201, 400),
        ("status=nonsense", 200),  # no record has it: an empty table
    ],
)
def test_table_parameters_are_checked(
    catalogue: tuple[SandboxServer, dict[str, Any]], query: str, status: int
) -> None:
    server, _ = catalogue
    assert requests.get(server.web_url + "publisheddata?" + query).status_code == status


def test_search_filter_sort_and_pages(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as server:
        for i in range(30):
            metadata = {**METADATA, "publicationYear": 2000 + i}
            if i == 7:
                metadata["creators"] = [{"name": "Grace Hopper"}]
            status = "amended" if i % 10 == 0 else "registered"
            _record(
                server,
                "ingestor",
                title=f"paper {i:02d}",
                abstract="x",
                datasetPids=["p"],
                status=status,
                metadata=metadata,
            )
        web = _web(server, "ingestor")
        first = web.get(server.web_url + "publisheddata").text  # newest year first
        assert re.findall(r">(paper \d\d)</a>", first) == [
            f"paper {i:02d}" for i in range(29, 4, -1)
        ]
        assert "Page 1 of 2 (30 records)" in first
        second = web.get(server.web_url + "publisheddata?sort=title&order=asc&page=2").text
        assert re.findall(r">(paper \d\d)</a>", second) == [f"paper {i:02d}" for i in range(25, 30)]
        hopper = web.get(server.web_url + "publisheddata?q=GRACE").text  # creators, any case
        assert _titles(hopper) == ["paper 07"]
        amended = web.get(server.web_url + "publisheddata?status=amended").text
        assert _titles(amended) == ["paper 00", "paper 10", "paper 20"]
        assert '<option value="amended" selected>' in amended


# Where hostile text can sit in a record, and how it gets there.
HOSTILE_TEXT = [
    "<script>window.pwned = 1</script>",
    '"><img src=x onerror="window.pwned=1">',
    "</title><svg onload=window.pwned=1>",
]
HOSTILE_PLACES = {
    "title": lambda h: {"title": h},
    "abstract": lambda h: {"abstract": h},
    "creator": lambda h: {"metadata": {**METADATA, "creators": [{"name": h}]}},
    "publisher": lambda h: {"metadata": {**METADATA, "publisher": {"name": h}}},
    "resource type": lambda h: {"metadata": {**METADATA, "resourceType": h}},
    "metadata key": lambda h: {"metadata": {**METADATA, h: "v"}},
    "metadata value": lambda h: {"metadata": {**METADATA, "note": {"x": [h]}}},
    "dataset pid": lambda h: {"datasetPids": [h]},
}


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> tuple[SandboxServer, str]:
    server = SandboxServer(tmp_path_factory.mktemp("web-hostile")).start()
    dataset = v4_dataset(datasetName="cited", isPublished=True)
    reply = session(server, "ingestor").post(server.root_url + "/v4/datasets", json=dataset)
    return server, reply.json()["pid"]


@pytest.mark.parametrize("hostile", HOSTILE_TEXT)
@pytest.mark.parametrize("place", sorted(HOSTILE_PLACES))
def test_hostile_record_text_is_shown_escaped(
    hostile_server: tuple[SandboxServer, str], place: str, hostile: str
) -> None:
    """Each place, each hostile text: escaped on the list, the record and the dataset page."""
    server, pid = hostile_server
    body = {
        "title": "hostile",
        "abstract": "a",
        "datasetPids": [pid],
        "status": "registered",
        "metadata": METADATA,
        **HOSTILE_PLACES[place](hostile),
    }
    record = _record(server, "ingestor", **body)
    shown = json.dumps(hostile)[1:-1] if place == "metadata value" else hostile  # as JSON
    pages = {
        "publisheddata": place in ("title", "creator"),  # what the table shows
        _href(record["doi"]): True,
        "datasets/" + quote(pid, safe=""): place == "title",
    }
    for url, shows_it in pages.items():
        reply = requests.get(server.web_url + url)
        assert reply.status_code == 200
        assert hostile not in reply.text, (place, url)
        if shows_it:  # (earlier cases' records are there too: no check of absence)
            assert str(escape(shown)) in reply.text, (place, url)


@pytest.mark.parametrize(
    ("metadata", "shown"),
    [
        ({}, []),  # a private draft need not pass the metadata check
        ({"creators": "Ada Lovelace", "publicationYear": "2026"}, ["Ada Lovelace", "2026"]),
        ({"creators": [{"givenName": "Ada", "familyName": "Lovelace"}]}, ["Ada Lovelace"]),
        ({"creators": [7, None, ["x"]], "publicationYear": "²"}, ["7", "null", "²"]),
        ({"publisher": "Facility", "resourceType": {"general": "Dataset"}}, ["Facility"]),
        ({"publicationYear": True, "creators": [{"name": 5}]}, ["true"]),
    ],
)
def test_records_of_any_shape_are_shown(
    hostile_server: tuple[SandboxServer, str], metadata: dict[str, Any], shown: list[str]
) -> None:
    server, pid = hostile_server
    record = _record(
        server, "ingestor", title="odd", abstract="a", datasetPids=[pid], metadata=metadata
    )
    web = _web(server, "ingestor")
    page = web.get(server.web_url + _href(record["doi"]))
    assert page.status_code == 200
    for text in shown:
        assert str(escape(text)) in page.text, text
    for sort in ("title", "creators", "year", "status", "doi"):
        for order in ("asc", "desc"):
            listed = web.get(server.web_url + f"publisheddata?sort={sort}&order={order}&q=odd")
            assert listed.status_code == 200 and record["doi"] in listed.text
