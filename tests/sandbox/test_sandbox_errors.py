"""Bad requests get the status codes and body shapes the real backend gives."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from scisync.sandbox import SandboxServer
from tests.sandbox.helpers import block, quoted, v3_raw_dataset, v4_dataset


@dataclass(frozen=True)
class Case:
    name: str
    user: str | None  # account whose token is sent; None = anonymous
    method: str
    path: str  # relative to /api; "{pid}" is replaced by an existing ingestor dataset
    status: int
    json_body: Any = None
    data: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    check: Callable[[Any], bool] = lambda body: True


def standard(*messages: str) -> Callable[[Any], bool]:
    """``{"message": [...], "error": "Bad Request", "statusCode": 400}`` with these messages."""

    def check(body: Any) -> bool:
        return (
            body["statusCode"] == 400
            and body["error"] == "Bad Request"
            and isinstance(body["message"], list)
            and all(m in body["message"] for m in messages)
        )

    return check


def v3_shape(prop: str, constraint: str) -> Callable[[Any], bool]:
    """``{"status": 400, "message": "<JSON string of class-validator records>"}``."""

    def check(body: Any) -> bool:
        records = json.loads(body["message"])
        return body["status"] == 400 and any(
            r["property"] == prop and constraint in r["constraints"] for r in records
        )

    return check


def message(text: str, status: int) -> Callable[[Any], bool]:
    return lambda body: body["message"] == text and body["statusCode"] == status


CASES = [
    Case(
        "v4 unknown field",
        "ingestor",
        "POST",
        "/v4/datasets",
        400,
        v4_dataset(color="red"),
        check=standard("property color should not exist"),
    ),
    Case(
        "v3 unknown field",
        "ingestor",
        "POST",
        "/v3/datasets",
        400,
        v3_raw_dataset(color="red"),
        check=v3_shape("color", "whitelistValidation"),
    ),
    Case(
        "v4 missing required datasetName",
        "ingestor",
        "POST",
        "/v4/datasets",
        400,
        {k: v for k, v in v4_dataset().items() if k != "datasetName"},
        check=standard("datasetName must be a string"),
    ),
    Case(
        "v3 raw missing principalInvestigator",
        "ingestor",
        "POST",
        "/v3/datasets",
        400,
        {k: v for k, v in v3_raw_dataset().items() if k != "principalInvestigator"},
        check=v3_shape("principalInvestigator", "isString"),
    ),
    Case(
        "v3 wrong type",
        "ingestor",
        "POST",
        "/v3/datasets",
        400,
        v3_raw_dataset(size="big"),
        check=v3_shape("size", "isInt"),
    ),
    Case(
        "v4 bad email and date",
        "ingestor",
        "POST",
        "/v4/datasets",
        400,
        v4_dataset(contactEmail="nobody", creationTime="yesterday"),
        check=standard(
            "contactEmail must be an email or a list of emails separated by ;",
            "creationTime must be a valid ISO 8601 date string",
        ),
    ),
    Case(
        "bad JSON",
        "ingestor",
        "POST",
        "/v4/datasets",
        400,
        data=b'{"ownerGroup": ',
        headers={"Content-Type": "application/json"},
        check=lambda body: body["statusCode"] == 400,
    ),
    Case(
        "anonymous v4 write",
        None,
        "POST",
        "/v4/datasets",
        403,
        v4_dataset(),
        check=message("Forbidden resource", 403),
    ),
    Case(
        "anonymous v3 write",
        None,
        "POST",
        "/v3/datasets",
        403,
        v3_raw_dataset(),
        check=message("Forbidden resource", 403),
    ),
    Case(
        "anonymous origdatablock",
        None,
        "POST",
        "/v4/origdatablocks",
        403,
        block("x/y"),
        check=message("Forbidden resource", 403),
    ),
    Case(
        "anonymous sample create",
        None,
        "POST",
        "/v3/samples",
        401,
        {"sampleName": "s", "ownerGroup": "group1"},
        check=message("Unauthenticated", 401),
    ),
    Case(
        "anonymous v4 list",
        None,
        "GET",
        "/v4/datasets",
        403,
        check=message("Forbidden resource", 403),
    ),
    Case(
        "missing dataset",
        "user1",
        "GET",
        "/v3/datasets/20.500.12269%2Fmissing",
        404,
        check=message("dataset: 20.500.12269/missing not found", 404),
    ),
    Case(
        "unreadable dataset",
        "user1",
        "GET",
        "/v3/datasets/{pid}",
        403,
        check=message("Unauthorized access", 403),
    ),
    Case(
        "unreadable dataset v4",
        "user1",
        "GET",
        "/v4/datasets/{pid}",
        403,
        check=message("Unauthorized access", 403),
    ),
    Case(
        "duplicate pid",
        "ingestor",
        "POST",
        "/v4/datasets",
        409,
        v4_dataset(pid="PID"),
        check=message("A dataset with pid PID already exists!", 409),
    ),
    Case(
        "pid without privilege",
        "user1",
        "POST",
        "/v4/datasets",
        403,
        v4_dataset(pid="20.500.12269/mine", ownerGroup="group1"),
        check=message("Unauthorized to create this dataset", 403),
    ),
    Case(
        "ownerGroup not the caller's",
        "user1",
        "POST",
        "/v4/datasets",
        403,
        v4_dataset(ownerGroup="ingestor"),
        check=message("Unauthorized to create this dataset", 403),
    ),
    Case(
        "patch someone else's dataset",
        "user1",
        "PATCH",
        "/v4/datasets/{pid}",
        403,
        {"description": "mine now"},
        check=message("Unauthorized to update this dataset", 403),
    ),
    Case(
        "patch pid",
        "ingestor",
        "PATCH",
        "/v3/datasets/{pid}",
        400,
        {"pid": "other"},
        check=v3_shape("pid", "whitelistValidation"),
    ),
    Case(
        "ownerGroup on nested origdatablock route",
        "ingestor",
        "POST",
        "/v3/datasets/{pid}/origdatablocks",
        400,
        {**block(None), "ownerGroup": "ingestor"},
        check=standard("property ownerGroup should not exist"),
    ),
    Case(
        "empty dataFileList",
        "ingestor",
        "POST",
        "/v4/origdatablocks",
        400,
        {"datasetId": "{pid}", "size": 0, "dataFileList": []},
        check=standard("dataFileList should not be empty"),
    ),
    Case(
        "bad login",
        None,
        "POST",
        "/v3/auth/login",
        401,
        {"username": "ingestor", "password": "wrong"},
        check=lambda body: body == {"message": "Unauthorized", "statusCode": 401},
    ),
    Case(
        "invalid token is anonymous",
        "invalid",
        "POST",
        "/v4/datasets",
        403,
        v4_dataset(),
        check=message("Forbidden resource", 403),
    ),
    Case(
        "expired token",
        "expired",
        "GET",
        "/v3/datasets",
        401,
        check=message("SESSION_EXPIRED", 401),
    ),
    Case(
        "bad filter JSON",
        "ingestor",
        "GET",
        "/v3/datasets",
        400,
        params={"filter": "{where"},
        check=lambda body: body["message"].startswith("Invalid JSON in filter"),
    ),
    Case(
        "v4 filter with unknown key",
        "ingestor",
        "GET",
        "/v4/datasets",
        400,
        params={"filter": json.dumps({"where": {}, "order": "pid:asc"})},
        check=message("Property order should not exist in the filter object", 400),
    ),
    Case(
        "v4 filter on unknown field",
        "ingestor",
        "GET",
        "/v4/datasets",
        400,
        params={"filter": json.dumps({"where": {"colour": "red"}})},
        check=message("Property colour should not exist in the filter object", 400),
    ),
    Case(
        "unknown route",
        "ingestor",
        "GET",
        "/v3/nothing",
        404,
        check=message("Cannot GET /api/v3/nothing", 404),
    ),
    Case(
        "duplicate attachment aid",
        "ingestor",
        "POST",
        "/v4/attachments",
        500,
        {"caption": "c", "isPublished": False, "ownerGroup": "ingestor", "aid": "AID"},
        check=lambda body: body == {"statusCode": 500, "message": "Internal server error"},
    ),
    Case(
        "duplicate sampleId",
        "ingestor",
        "POST",
        "/v3/samples",
        500,
        {"sampleId": "SAMPLE", "sampleName": "s", "ownerGroup": "ingestor"},
        check=lambda body: body == {"statusCode": 500, "message": "Internal server error"},
    ),
    Case(
        "sample without sampleName",
        "ingestor",
        "POST",
        "/v3/samples",
        400,
        {"ownerGroup": "ingestor"},
        check=standard("sampleName must be a string"),
    ),
]


def _token(server: SandboxServer, user: str | None) -> dict[str, str]:
    if user is None:
        return {}
    if user == "invalid":
        return {"Authorization": "Bearer not.a.token"}
    if user == "expired":
        return {"Authorization": f"Bearer {server.login('ingestor', expires_in=-60)}"}
    return {"Authorization": f"Bearer {server.login(user)}"}


def _fill(value: Any, pid: str) -> Any:
    if isinstance(value, str):
        return value.replace("{pid}", pid)
    if isinstance(value, dict):
        return {k: _fill(v, pid) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, pid) for v in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_request(scicat_sandbox_session: SandboxServer, case: Case) -> None:
    server = scicat_sandbox_session
    root = server.root_url
    ingestor = {"Authorization": f"Bearer {server.login('ingestor')}"}
    # An existing dataset owned by "ingestor" that user1 may not read; reused as {pid}.
    existing = requests.post(f"{root}/v4/datasets", json=v4_dataset(), headers=ingestor)
    pid = existing.json()["pid"]
    # Objects the duplicate cases collide with (creating them twice is harmless here).
    requests.post(f"{root}/v4/datasets", json=v4_dataset(pid="PID"), headers=ingestor)
    requests.post(
        f"{root}/v4/attachments",
        json={"caption": "c", "isPublished": False, "ownerGroup": "ingestor", "aid": "AID"},
        headers=ingestor,
    )
    requests.post(
        f"{root}/v3/samples",
        json={"sampleId": "SAMPLE", "sampleName": "s", "ownerGroup": "ingestor"},
        headers=ingestor,
    )
    headers = {**_token(server, case.user), **case.headers}
    reply = requests.request(
        case.method,
        root + _fill(case.path, quoted(pid)),
        json=_fill(case.json_body, pid) if case.json_body is not None else None,
        data=case.data,
        headers=headers,
        params=case.params,
    )
    assert reply.status_code == case.status, reply.text
    body = reply.json()
    assert case.check(body), body


def test_oversize_body_is_413_and_server_keeps_serving(scicat_sandbox: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {scicat_sandbox.login('ingestor')}"}
    huge = v4_dataset(description="x" * (16 * 1024 * 1024 + 10))
    reply = requests.post(f"{scicat_sandbox.root_url}/v4/datasets", json=huge, headers=headers)
    assert reply.status_code == 413
    assert reply.json()["message"] == "request entity too large"
    ok = requests.post(f"{scicat_sandbox.root_url}/v4/datasets", json=v4_dataset(), headers=headers)
    assert ok.status_code == 201


def test_body_just_under_the_limit_is_accepted(scicat_sandbox: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {scicat_sandbox.login('ingestor')}"}
    body = v4_dataset(description="")
    overhead = len(json.dumps(body).encode())
    body["description"] = "x" * (16 * 1024 * 1024 - overhead - 100)
    reply = requests.post(f"{scicat_sandbox.root_url}/v4/datasets", json=body, headers=headers)
    assert reply.status_code == 201


def test_chunked_body_is_read(scicat_sandbox: SandboxServer) -> None:
    headers = {
        "Authorization": f"Bearer {scicat_sandbox.login('ingestor')}",
        "Content-Type": "application/json",
    }
    payload = json.dumps(v4_dataset()).encode()
    chunks = iter([payload[:10], payload[10:]])  # a generator body makes requests send chunks
    reply = requests.post(f"{scicat_sandbox.root_url}/v4/datasets", data=chunks, headers=headers)
    assert reply.status_code == 201, reply.text
    assert reply.request.headers.get("Transfer-Encoding") == "chunked"


def test_wrong_json_shapes_are_400_not_500(scicat_sandbox: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {scicat_sandbox.login('ingestor')}"}
    root = scicat_sandbox.root_url
    for path in ("/v4/datasets", "/v3/datasets", "/v4/origdatablocks", "/v4/attachments"):
        for body in ([1, 2], "text", 5, None):
            reply = requests.post(root + path, json=body, headers=headers)
            assert reply.status_code == 400, (path, body, reply.text)
    assert scicat_sandbox.errors() == []


FUZZ_FILTERS = [
    "{",
    "[]",
    '"text"',
    json.dumps({"where": 5}),
    json.dumps({"where": {"pid": {"$in": 5}}}),
    json.dumps({"where": {"pid": {"inq": "x"}}}),
    json.dumps({"where": {"$or": 5}}),
    json.dumps({"where": {"pid": {"$regex": "("}}}),
    json.dumps({"where": {"size": {"$gt": [1]}}}),
    json.dumps({"limits": {"limit": "abc", "skip": -1}}),
    json.dumps({"limits": 5}),
    json.dumps({"limits": {"sort": {"pid": "sideways"}, "order": 5}}),
    json.dumps({"fields": 5, "include": 5}),
    json.dumps({"include": [{"relation": 5}]}),
    json.dumps({"where": {"a.b.c": {"$elemMatch": 5}}}),
]
FUZZ_BODIES: list[Any] = [[1], "x", 5, True, {"size": {"nested": 1}}, {"dataFileList": [5]}]


def test_no_route_answers_500_to_garbage(scicat_sandbox: SandboxServer) -> None:
    """Every route, as admin, with malformed filters and bodies: 4xx, never a crash."""
    from scisync.sandbox.server import build_routes

    app = scicat_sandbox._app
    assert app is not None
    headers = {"Authorization": f"Bearer {scicat_sandbox.login('admin')}"}
    base = f"http://127.0.0.1:{scicat_sandbox.port}/api"
    # Something to evaluate filters against (and to sort, project and include).
    pid = requests.post(
        f"{base}/v4/datasets", json=v4_dataset(pid="x/y", isPublished=True), headers=headers
    ).json()["pid"]
    assert requests.post(f"{base}/v4/origdatablocks", json=block(pid), headers=headers).ok
    attachment = {"caption": "c", "isPublished": True, "ownerGroup": "admin", "aid": "nope"}
    attachment["relationships"] = [{"targetId": pid, "targetType": "dataset"}]
    assert requests.post(f"{base}/v4/attachments", json=attachment, headers=headers).ok
    sample = {"sampleId": "nope", "sampleName": "s", "ownerGroup": "admin", "isPublished": True}
    assert requests.post(f"{base}/v3/samples", json=sample, headers=headers).ok
    routes = sorted(build_routes(app.api), key=lambda r: r.method == "DELETE")  # deletes last
    for route in routes:
        path = route.template.replace("{pid}", "x%2Fy").replace("{id}", "nope")
        if route.method == "GET":
            for raw in FUZZ_FILTERS:
                for name in ("filter", "fields", "limits"):
                    reply = requests.get(base + path, params={name: raw}, headers=headers)
                    assert reply.status_code < 500, (route.template, name, raw, reply.text)
        else:
            for body in FUZZ_BODIES:
                reply = requests.request(route.method, base + path, json=body, headers=headers)
                assert reply.status_code < 500, (route.template, body, reply.text)
    assert scicat_sandbox.errors() == []
