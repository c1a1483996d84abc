"""Published data in the sandbox: the backend's lifecycle, access rules and answers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import requests

from scisync.sandbox import SandboxServer, SandboxSettings
from tests.sandbox.helpers import session, v4_dataset

Factory = Any


def _url(server: SandboxServer, doi: str = "", action: str = "") -> str:
    path = f"{server.root_url}/v4/publisheddata"
    if doi:
        path += "/" + quote(doi, safe="")
    return path + (f"/{action}" if action else "")


def _dataset(server: SandboxServer, user: str = "ingestor", group: str = "ingestor") -> str:
    reply = session(server, user).post(
        f"{server.root_url}/v4/datasets", json=v4_dataset(ownerGroup=group)
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["pid"])


# What the backend's default publishedDataConfig requires before publish and register.
METADATA = {
    "creators": [{"name": "Ada Lovelace"}],
    "publisher": {"name": "Sandbox Facility", "publisherIdentifierScheme": "ROR"},
    "publicationYear": 2026,
    "resourceType": "Dataset",
}


def _create(server: SandboxServer, user: str = "ingestor", **extra: Any) -> dict[str, Any]:
    body = {
        "title": "T",
        "abstract": "A",
        "datasetPids": [_dataset(server)],
        "metadata": METADATA,
        **extra,
    }
    reply = session(server, user).post(_url(server), json=body)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def _to_status(server: SandboxServer, record: dict[str, Any], status: str) -> None:
    steps = {"private": [], "public": ["publish"], "registered": ["register"]}
    steps["amended"] = ["register", "amend"]
    for action in steps[status]:
        user = "admin" if action == "amend" else "ingestor"
        reply = session(server, user).post(_url(server, record["doi"], action))
        assert reply.status_code == 201, reply.text


def test_create_assigns_doi_under_the_prefix_and_defaults(
    scicat_sandbox_factory: Factory,
) -> None:
    server = scicat_sandbox_factory(SandboxSettings(doi_prefix="10.9999/"))
    record = _create(server, metadata={"publisher": {"name": "X"}})  # checked on publish only
    assert record["doi"].startswith("10.9999/") and len(record["doi"]) == len("10.9999/") + 36
    assert record["_id"] == record["doi"]
    assert record["status"] == "private"
    assert record["createdBy"] == record["updatedBy"] == "ingestor"
    assert record["metadata"] == {"publisher": {"name": "X"}}
    short = scicat_sandbox_factory(SandboxSettings(doi_short_suffix=True))
    assert len(_create(short)["doi"].split("/", 1)[1]) == 10


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"abstract": "A", "datasetPids": []}, "title must be a string"),
        ({"title": "T", "abstract": "A", "datasetPids": "x"}, "datasetPids"),
        ({"title": "T", "abstract": "A", "datasetPids": [], "doi": "10.1/x"}, "doi should not"),
        ({"title": "T", "abstract": "A", "datasetPids": [], "status": "done"}, "status must be"),
    ],
)
def test_create_validates_like_the_dto(
    scicat_sandbox: SandboxServer, body: dict[str, Any], fragment: str
) -> None:
    reply = session(scicat_sandbox, "ingestor").post(_url(scicat_sandbox), json=body)
    assert reply.status_code == 400
    assert fragment in " ".join(reply.json()["message"])


# (status, user, action, expected HTTP status, expected status afterwards)
TRANSITIONS = [
    ("private", "ingestor", "patch", 200, "private"),
    ("private", "admin", "patch", 200, "private"),
    ("public", "ingestor", "patch", 400, "public"),
    ("public", "admin", "patch", 200, "public"),
    ("registered", "admin", "patch", 400, "registered"),
    ("registered", "ingestor", "patch", 400, "registered"),
    ("amended", "admin", "patch", 400, "amended"),
    ("private", "ingestor", "resync", 201, "private"),
    ("registered", "admin", "resync", 400, "registered"),
    ("private", "ingestor", "publish", 201, "public"),
    ("public", "ingestor", "publish", 400, "public"),
    ("registered", "ingestor", "publish", 400, "registered"),
    ("private", "ingestor", "register", 201, "registered"),
    ("public", "ingestor", "register", 201, "registered"),
    ("amended", "ingestor", "register", 201, "registered"),
    ("registered", "ingestor", "amend", 403, "registered"),
    ("registered", "admin", "amend", 201, "amended"),
    ("public", "admin", "amend", 400, "public"),
    ("private", "admin", "delete", 200, None),
    ("registered", "admin", "delete", 400, "registered"),
    ("private", "ingestor", "delete", 403, "private"),  # DELETE_GROUPS only
]


@pytest.mark.parametrize(("start", "user", "action", "http", "after"), TRANSITIONS)
def test_lifecycle_transitions_follow_the_backend(
    scicat_sandbox: SandboxServer,
    start: str,
    user: str,
    action: str,
    http: int,
    after: str | None,
) -> None:
    record = _create(scicat_sandbox)
    _to_status(scicat_sandbox, record, start)
    client = session(scicat_sandbox, user)
    doi = record["doi"]
    if action == "patch":
        reply = client.patch(_url(scicat_sandbox, doi), json={"title": "new"})
    elif action == "resync":
        reply = client.post(_url(scicat_sandbox, doi, "resync"), json={"title": "new"})
    elif action == "delete":
        reply = client.delete(_url(scicat_sandbox, doi))
    else:
        reply = client.post(_url(scicat_sandbox, doi, action))
    assert reply.status_code == http, reply.text
    if http >= 400:
        assert reply.json()["statusCode"] == http
    back = session(scicat_sandbox, "admin").get(_url(scicat_sandbox, doi))
    if after is None:
        assert back.status_code == 404
        return
    assert back.json()["status"] == after
    changed = action in ("patch", "resync") and http < 300
    assert back.json()["title"] == ("new" if changed else "T")


def test_register_publishes_the_datasets_and_stamps_the_time(
    scicat_sandbox: SandboxServer,
) -> None:
    record = _create(scicat_sandbox)
    reply = session(scicat_sandbox, "ingestor").post(
        _url(scicat_sandbox, record["doi"], "register")
    )
    assert reply.json()["registeredTime"]
    pid = record["datasetPids"][0]
    dataset = session(scicat_sandbox, "ingestor").get(
        f"{scicat_sandbox.root_url}/v4/datasets/{quote(pid, safe='')}"
    )
    assert dataset.json()["isPublished"] is True
    assert dataset.json()["datasetlifecycle"]["publishedOn"] == reply.json()["registeredTime"]
    assert dataset.json()["datasetlifecycle"]["archivable"] is True  # merged, not replaced


def test_publish_needs_update_rights_on_every_dataset(scicat_sandbox: SandboxServer) -> None:
    foreign = _dataset(scicat_sandbox, user="user1", group="group1")
    body = {"title": "T", "abstract": "A", "datasetPids": [foreign], "metadata": METADATA}
    record = session(scicat_sandbox, "ingestor").post(_url(scicat_sandbox), json=body).json()
    reply = session(scicat_sandbox, "ingestor").post(_url(scicat_sandbox, record["doi"], "publish"))
    assert reply.status_code == 403
    assert (
        session(scicat_sandbox, "ingestor")
        .get(_url(scicat_sandbox, record["doi"]))
        .json()["status"]
        == "private"
    )


def test_visibility_by_caller(scicat_sandbox: SandboxServer) -> None:
    private = _create(scicat_sandbox)
    registered = _create(scicat_sandbox)
    _to_status(scicat_sandbox, registered, "registered")
    public = _create(scicat_sandbox)
    _to_status(scicat_sandbox, public, "public")

    def dois(user: str | None) -> set[str]:
        reply = session(scicat_sandbox, user).get(_url(scicat_sandbox))
        assert reply.status_code == 200
        return {r["doi"] for r in reply.json()}

    everything = {private["doi"], registered["doi"], public["doi"]}
    assert dois("admin") == everything
    assert dois("ingestor") == everything  # its own private record too
    assert dois("user1") == {registered["doi"], public["doi"]}
    assert dois(None) == {registered["doi"]}  # RegisteredFilterPipe
    assert session(scicat_sandbox, "user1").get(_url(scicat_sandbox, private["doi"])).json() == {
        "message": f"Published data with doi {private['doi']} not found.",
        "error": "Not Found",
        "statusCode": 404,
    }
    count = session(scicat_sandbox, "user1").get(_url(scicat_sandbox) + "/count")
    assert count.json() == {"count": 2}
    where = json.dumps({"where": {"datasetPids": {"inq": public["datasetPids"]}}})
    filtered = session(scicat_sandbox, "admin").get(_url(scicat_sandbox), params={"filter": where})
    assert [r["doi"] for r in filtered.json()] == [public["doi"]]


@pytest.mark.parametrize("method", ["PATCH", "POST publish", "POST register", "POST amend"])
def test_anonymous_changes_get_the_401_body(scicat_sandbox: SandboxServer, method: str) -> None:
    record = _create(scicat_sandbox)
    verb, _, action = method.partition(" ")
    reply = requests.request(verb, _url(scicat_sandbox, record["doi"], action), json={})
    assert reply.status_code == 401
    assert reply.json() == {
        "message": "Unauthenticated",
        "error": "Unauthorized",
        "statusCode": 401,
    }


def test_anonymous_create_is_forbidden(scicat_sandbox: SandboxServer) -> None:
    reply = requests.post(_url(scicat_sandbox), json={"title": "T"})
    assert reply.status_code == 403
    assert reply.json()["message"] == "Forbidden resource"


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"creators": []}, [("/creators", "must NOT have fewer than 1 items")]),
        ({"creators": [{}]}, [("/creators/0", "must have required property 'name'")]),
        (
            {"publisher": {"name": "X"}},
            [("/publisher", "must have required property 'publisherIdentifierScheme'")],
        ),
        ({"publicationYear": "2026"}, [("/publicationYear", "must be integer")]),
        ({"resourceType": None}, [("", "must have required property 'resourceType'")]),
        ({"publicationYear": None}, []),  # ajv's dynamic default: the current year
    ],
)
@pytest.mark.parametrize("action", ["publish", "register"])
def test_publish_and_register_validate_the_metadata(
    scicat_sandbox: SandboxServer, change: dict[str, Any], errors: list[Any], action: str
) -> None:
    metadata = {k: v for k, v in {**METADATA, **change}.items() if v is not None}
    record = _create(scicat_sandbox, metadata=metadata)
    reply = session(scicat_sandbox, "ingestor").post(_url(scicat_sandbox, record["doi"], action))
    if not errors:
        assert reply.status_code == 201, reply.text
        assert "publicationYear" not in reply.json()["metadata"]  # the default is not stored
        return
    assert reply.status_code == 400
    assert [(e["instancePath"], e["message"]) for e in reply.json()] == errors
    back = session(scicat_sandbox, "ingestor").get(_url(scicat_sandbox, record["doi"]))
    assert back.json()["status"] == "private"


def test_a_config_file_in_the_data_folder_replaces_the_schema(
    scicat_sandbox_factory: Factory, tmp_path: Any
) -> None:
    folder = tmp_path / "custom"
    folder.mkdir()
    schema = {"type": "object", "required": ["landingPage"]}
    (folder / "publishedDataConfig.json").write_text(json.dumps({"metadataSchema": schema}))
    server = scicat_sandbox_factory(data_dir=folder)
    record = _create(server)
    reply = session(server, "ingestor").post(_url(server, record["doi"], "publish"))
    assert reply.status_code == 400
    assert reply.json()[0]["params"] == {"missingProperty": "landingPage"}
    off = tmp_path / "off"
    off.mkdir()
    (off / "publishedDataConfig.json").write_text(json.dumps({"metadataSchema": None}))
    lax = scicat_sandbox_factory(data_dir=off)
    bare = _create(lax, metadata={})
    assert session(lax, "ingestor").post(_url(lax, bare["doi"], "publish")).status_code == 201
