"""The web page over HTTP: the API's read rules, parameters, cookies, headers, images."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from scisync.sandbox import SandboxServer
from scisync.sandbox.store import LAYOUT_VERSION, Store
from scisync.sandbox.web.session import COOKIE, safe_next
from tests.sandbox.helpers import session, v4_dataset

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAFklEQVR4nGP8z8DwnwEIGBmZGBgYAAAbBQIBXxBvJwAAAABJRU5ErkJggg=="
)
# who owns, who may read: one dataset per row of the access table
DATASETS = [
    {"datasetName": "mine", "ownerGroup": "ingestor"},
    {"datasetName": "public", "ownerGroup": "ingestor", "isPublished": True},
    {"datasetName": "theirs", "ownerGroup": "group1"},
    {"datasetName": "shared-group", "ownerGroup": "group1", "accessGroups": ["ingestor"]},
    {
        "datasetName": "shared-email",
        "ownerGroup": "group1",
        "sharedWith": ["ingestor@sandbox.invalid"],
    },
]


def _names(html: str) -> list[str]:
    return sorted(re.findall(r'<a href="/datasets/[^"]+">([^<]+)</a>', html))


def _web(server: SandboxServer, user: str | None) -> requests.Session:
    s = requests.Session()
    if user is not None:
        s.cookies.set(COOKIE, server.login(user))
    return s


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> SandboxServer:
    server = SandboxServer(tmp_path_factory.mktemp("web-pages")).start()
    admin = session(server, "admin")
    for fields in DATASETS:
        body = v4_dataset(**fields)
        assert admin.post(server.root_url + "/v4/datasets", json=body).status_code == 201
    return server


@pytest.mark.parametrize("user", [None, "ingestor", "user1", "admin"])
def test_the_table_lists_exactly_what_the_api_lists(
    catalogue: SandboxServer, user: str | None
) -> None:
    if user is None:
        api = requests.get(
            catalogue.root_url + "/v4/datasets/public",
            params={"filter": '{"limits": {"limit": 0}}'},
        )
    else:
        api = session(catalogue, user).get(
            catalogue.root_url + "/v4/datasets", params={"filter": '{"limits": {"limit": 0}}'}
        )
    listed = sorted(d["datasetName"] for d in api.json())
    page = _web(catalogue, user).get(catalogue.web_url)
    assert page.status_code == 200
    assert _names(page.text) == listed
    assert listed  # every caller sees at least the published one


@pytest.mark.parametrize(
    ("user", "visible"),
    [
        (None, {"public"}),
        ("ingestor", {"mine", "public", "shared-group"}),
        ("admin", {d["datasetName"] for d in DATASETS}),
    ],
)
def test_a_dataset_page_follows_the_api_get_rule(
    catalogue: SandboxServer, user: str | None, visible: set[str]
) -> None:
    every = (
        session(catalogue, "admin")
        .get(catalogue.root_url + "/v4/datasets", params={"filter": '{"limits": {"limit": 0}}'})
        .json()
    )
    web = _web(catalogue, user)
    for dataset in every:
        page = web.get(catalogue.web_url + "datasets/" + quote(dataset["pid"], safe=""))
        shown = dataset["datasetName"] in visible
        assert page.status_code == (200 if shown else 404), dataset["datasetName"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("sort=name&order=asc", 200),
        ("sort=password", 400),
        ("order=sideways", 400),
        ("page=0", 400),
        ("page=abc", 400),
        ("page=99999", 200),  # past the end: the last page
        ("q=" + "x" * 201, 400),
        ("type=raw&group=nobody", 200),
    ],
)
def test_table_parameters_are_checked(catalogue: SandboxServer, query: str, status: int) -> None:
    assert requests.get(catalogue.web_url + "?" + query).status_code == status


def test_pages_are_sorted_and_paged(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as server:
        api = session(server, "ingestor")
        for i in range(30):
            body = v4_dataset(datasetName=f"run {i:02d}", isPublished=True, size=i)
            api.post(server.root_url + "/v4/datasets", json=body)
        first = requests.get(server.web_url + "?sort=name&order=asc")
        names = re.findall(r">(run \d\d)</a>", first.text)
        assert names == [f"run {i:02d}" for i in range(25)]
        assert "Page 1 of 2 (30 datasets)" in first.text
        second = requests.get(server.web_url + "?sort=name&order=desc&page=2")
        assert re.findall(r">(run \d\d)</a>", second.text) == [
            f"run {i:02d}" for i in range(4, -1, -1)
        ]


@pytest.mark.parametrize(
    ("page", "query", "fields"),
    [
        ("", "sort=name&order=desc", {"sort": "name", "order": "desc"}),
        ("", "sort=size", {"sort": "size", "order": "desc"}),  # size sorts largest first
        ("", "q=mine&type=raw", {"sort": "created", "order": "desc"}),
        ("samples", "sort=name&order=desc", {"sort": "name", "order": "desc"}),
        ("samples", "sort=group", {"sort": "group", "order": "asc"}),
        ("published", "sort=name&order=asc", {"sort": "name", "order": "asc"}),
        ("publisheddata", "sort=title&order=desc", {"sort": "title", "order": "desc"}),
        ("publisheddata", "", {"sort": "year", "order": "desc"}),
    ],
)
def test_every_search_form_keeps_the_sort_and_its_order(
    catalogue: SandboxServer, page: str, query: str, fields: dict[str, str]
) -> None:
    """A search submitted from a sorted table comes back sorted the same way (samples
    once lost the order: its form kept only the column)."""
    html = requests.get(catalogue.web_url + page + "?" + query).text
    form = html[html.index('<form method="get" class="search"') : html.index("</form>")]
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
    assert hidden == fields
    assert re.search(r'<input id="q" name="q" type="search" value="[^"]*" maxlength="200">', form)


def test_the_api_ignores_the_web_session_cookie(catalogue: SandboxServer) -> None:
    web = _web(catalogue, "ingestor")
    assert web.get(catalogue.root_url + "/v4/datasets").status_code == 403  # anonymous on v4
    whoami = web.get(catalogue.root_url + "/v3/auth/whoami")
    assert "ingestor" not in whoami.text
    with_header = session(catalogue, "ingestor").get(catalogue.root_url + "/v3/auth/whoami")
    assert "ingestor" in with_header.text


def test_login_sets_a_strict_httponly_cookie_and_redirects_only_locally(
    catalogue: SandboxServer,
) -> None:
    reply = requests.post(
        catalogue.web_url + "login",
        data={"username": "ingestor", "password": "sandbox-ingestor", "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert reply.status_code == 303
    assert reply.headers["Location"] == "/"
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith(COOKIE + "=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    wrong = requests.post(
        catalogue.web_url + "login", data={"username": "ingestor", "password": "x"}
    )
    assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers
    assert "sandbox-ingestor" not in wrong.text


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/datasets/x", "/datasets/x"),
        ("//evil", "/"),
        ("https://evil", "/"),
        ("/\\evil", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_after_sign_in_only_local_paths(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


def test_an_expired_session_is_anonymous_and_cleared(catalogue: SandboxServer) -> None:
    web = requests.Session()
    web.cookies.set(COOKIE, catalogue.login("ingestor", expires_in=-10))
    page = web.get(catalogue.web_url)
    assert page.status_code == 200
    assert "Your session expired" in page.text
    assert _names(page.text) == ["public"]
    assert "Max-Age=0" in page.headers["Set-Cookie"]


def test_html_answers_forbid_scripts_and_framing(catalogue: SandboxServer) -> None:
    reply = requests.get(catalogue.web_url)
    policy = reply.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in reply.text
    assert (
        requests.get(catalogue.web_url + "static/style.css")
        .headers["Content-Type"]
        .startswith("text/css")
    )
    assert requests.get(catalogue.web_url + "no/such/page").status_code == 404
    assert requests.post(catalogue.web_url).status_code == 405


@pytest.mark.parametrize(
    ("thumbnail", "served"),
    [
        ("data:image/png;base64," + base64.b64encode(PNG).decode(), "image/png"),
        ("data:image/svg+xml;base64," + base64.b64encode(b"<svg onload='x()'/>").decode(), None),
        ("data:text/html;base64,PGI+", None),
        ("data:image/png;base64,not base64!", None),
        ("https://example.org/plot.png", None),
    ],
)
def test_attachment_images_are_served_only_as_raster_images(
    tmp_path: Path, thumbnail: str, served: str | None
) -> None:
    with SandboxServer(tmp_path) as server:
        api = session(server, "ingestor")
        pid = api.post(server.root_url + "/v4/datasets", json=v4_dataset(isPublished=True)).json()[
            "pid"
        ]
        attachment = api.post(
            server.root_url + "/v4/attachments",
            json={
                "ownerGroup": "ingestor",
                "isPublished": True,
                "caption": "plot",
                "thumbnail": thumbnail,
                "relationships": [{"targetId": pid, "targetType": "dataset"}],
            },
        ).json()
        reply = requests.get(server.web_url + "attachments/" + quote(attachment["_id"], safe=""))
        if served is None:
            assert reply.status_code == 404
        else:
            assert reply.status_code == 200
            assert reply.headers["Content-Type"] == served
            assert reply.content == PNG


def test_an_older_data_folder_gets_its_table_rows_on_first_start(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as server:
        session(server, "ingestor").post(
            server.root_url + "/v4/datasets", json=v4_dataset(datasetName="old", isPublished=True)
        )
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as conn:  # as layout 1 left it
        conn.execute("DROP TABLE briefs")
        conn.execute("PRAGMA user_version=1")
    Store(tmp_path).close()
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (LAYOUT_VERSION,)
    with SandboxServer(tmp_path) as server:
        assert _names(requests.get(server.web_url).text) == ["old"]


def test_the_api_answers_are_unchanged_by_the_web_page(catalogue: SandboxServer) -> None:
    reply = requests.get(catalogue.root_url + "/v3/nothing")
    assert reply.status_code == 404
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(reply.text)["statusCode"] == 404


def test_the_lineage_links_inputs_sample_and_derived_datasets(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as server:
        api = session(server, "ingestor")
        root = server.root_url
        sample = api.post(
            root + "/v3/samples",
            json={"sampleName": "powder", "ownerGroup": "ingestor", "isPublished": True},
        ).json()["sampleId"]
        raw = api.post(
            root + "/v4/datasets",
            json=v4_dataset(datasetName="raw scan", sampleIds=[sample], isPublished=True),
        ).json()["pid"]
        hidden = api.post(root + "/v4/datasets", json=v4_dataset(datasetName="secret")).json()
        derived = [
            api.post(
                root + "/v4/datasets",
                json=v4_dataset(
                    datasetName=f"fit {i}", inputDatasets=[raw, hidden["pid"]], isPublished=True
                ),
            ).json()["pid"]
            for i in range(10)
        ]
        page = requests.get(server.web_url + "datasets/" + quote(raw, safe="")).text
        svg = page[page.index("<svg") : page.index("</svg>")]
        assert f'href="/samples/{sample}"' in svg
        assert svg.count("node derived") == 7  # 7 drawn, the rest in one "+3 more" box
        assert "+3 more" in svg
        assert page.count('href="/datasets/') >= 10  # every derived one is listed as a link
        fit = requests.get(server.web_url + "datasets/" + quote(derived[0], safe="")).text
        assert f'href="/datasets/{quote(raw, safe="")}"' in fit
        assert "secret" not in fit  # an input the visitor may not read: its pid, no name
        assert f"{hidden['pid']} (not visible to you)" in fit
        sample_page = requests.get(server.web_url + "samples/" + sample).text
        assert ">raw scan</a>" in sample_page


def test_an_upgraded_data_folder_keeps_its_lineage(tmp_path: Path) -> None:
    with SandboxServer(tmp_path) as server:
        api = session(server, "ingestor")
        raw = api.post(
            server.root_url + "/v4/datasets", json=v4_dataset(datasetName="raw", isPublished=True)
        ).json()["pid"]
        api.post(
            server.root_url + "/v4/datasets",
            json=v4_dataset(datasetName="fit", inputDatasets=[raw], isPublished=True),
        )
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as conn:  # as layout 1 left it
        conn.execute("DROP TABLE briefs")
        conn.execute("DELETE FROM refs WHERE collection LIKE '%#links'")
        conn.execute("PRAGMA user_version=1")
    with SandboxServer(tmp_path) as server:
        page = requests.get(server.web_url + "datasets/" + quote(raw, safe="")).text
        assert ">fit</a>" in page
