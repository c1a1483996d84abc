"""The client's published-data methods against the sandbox."""

from __future__ import annotations

import pytest

from scisync.errors import ApiError
from scisync.sandbox import SandboxServer, SandboxSettings
from scisync.scicat.client import ScicatClient
from tests.scicat.dataset_bodies import dataset_body

Factory = object


@pytest.fixture
def client(scicat_sandbox: SandboxServer) -> ScicatClient:
    return ScicatClient(scicat_sandbox.url, scicat_sandbox.login("ingestor"), backoff_factor=0)


def _admin(server: SandboxServer) -> ScicatClient:
    return ScicatClient(server.url, server.login("admin"), backoff_factor=0)


def _record_body(pid: str, marker: str = "m-1") -> dict[str, object]:
    return {
        "title": "Data for the paper",
        "abstract": "What we measured",
        "datasetPids": [pid],
        "metadata": {
            "creators": [{"name": "Ada"}],
            "publisher": {"name": "Sandbox Facility", "publisherIdentifierScheme": "ROR"},
            "publicationYear": 2026,
            "resourceType": "Dataset",
            "scisync_marker": marker,
        },
    }


def test_create_update_publish_register_amend(
    client: ScicatClient, scicat_sandbox: SandboxServer
) -> None:
    pid = client.create_dataset(dataset_body("pub-1"))["pid"]
    assert isinstance(pid, str)
    record = client.create_published_data(_record_body(pid))
    assert record.status == "private" and not record.is_registered
    assert record.doi.startswith("10.5072/") and record.dataset_pids == (pid,)
    assert record.metadata["publicationYear"] == 2026

    updated = client.update_published_data(record.doi, {"title": "A better title"})
    assert updated.title == "A better title" and updated.doi == record.doi
    assert client.publish_published_data(record.doi).status == "public"
    registered = client.register_published_data(record.doi)
    assert registered.is_registered and registered.registered_time is not None
    assert client.get_dataset(pid) is not None
    dataset = client.get_dataset(pid)
    assert dataset is not None and dataset.fields["isPublished"] is True

    with pytest.raises(ApiError) as refused:
        client.update_published_data(record.doi, {"title": "too late"})
    assert refused.value.status == 400
    assert "can only be resynced if it is in private state" in str(refused.value)
    with pytest.raises(ApiError) as not_admin:
        client.amend_published_data(record.doi)
    assert not_admin.value.status == 403
    amended = _admin(scicat_sandbox).amend_published_data(record.doi)
    assert amended.status == "amended" and amended.is_registered
    fetched = client.get_published_data(record.doi)
    assert fetched is not None and fetched.title == "A better title"


def test_get_missing_and_invisible_is_none(
    client: ScicatClient, scicat_sandbox: SandboxServer
) -> None:
    assert client.get_published_data("10.5072/nothing") is None
    pid = client.create_dataset(dataset_body("pub-2"))["pid"]
    assert isinstance(pid, str)
    private = client.create_published_data(_record_body(pid))
    other = ScicatClient(scicat_sandbox.url, scicat_sandbox.login("user1"), backoff_factor=0)
    assert other.get_published_data(private.doi) is None


def test_find_paginates_and_finds_by_marker(scicat_sandbox_factory: object) -> None:
    server = scicat_sandbox_factory(SandboxSettings())  # type: ignore[operator]
    client = ScicatClient(server.url, server.login("ingestor"), backoff_factor=0, page_size=2)
    pid = client.create_dataset(dataset_body("pub-3"))["pid"]
    assert isinstance(pid, str)
    dois = {client.create_published_data(_record_body(pid, f"m-{i}")).doi for i in range(5)}
    before = client.request_count
    found = client.find_published_data({"datasetPids": {"inq": [pid]}})
    assert {r.doi for r in found} == dois
    assert client.request_count - before == 3  # pages of 2, 2, 1
    by_marker = client.find_published_data_by_metadata("scisync_marker", ["m-1", "m-4", "m-9"])
    assert [len(by_marker[m]) for m in ("m-1", "m-4", "m-9")] == [1, 1, 0]


def test_resync_updates_while_private(client: ScicatClient) -> None:
    pid = client.create_dataset(dataset_body("pub-4"))["pid"]
    assert isinstance(pid, str)
    record = client.create_published_data(_record_body(pid))
    client.resync_published_data(record.doi, {"abstract": "resynced"})
    fetched = client.get_published_data(record.doi)
    assert fetched is not None and fetched.abstract == "resynced"


def test_a_bad_body_is_an_api_error_with_the_server_words(client: ScicatClient) -> None:
    with pytest.raises(ApiError) as failure:
        client.create_published_data({"title": "x", "abstract": "y", "datasetPids": [], "doi": "1"})
    assert failure.value.status == 400
    assert "property doi should not exist" in str(failure.value)


def test_a_metadata_refusal_names_the_fields(client: ScicatClient) -> None:
    pid = client.create_dataset(dataset_body("pub-5"))["pid"]
    assert isinstance(pid, str)
    body = _record_body(pid)
    body["metadata"] = {"creators": [], "resourceType": "Dataset"}
    record = client.create_published_data(body)
    with pytest.raises(ApiError) as refused:
        client.register_published_data(record.doi)
    assert refused.value.status == 400
    text = str(refused.value)
    assert "metadata/creators: must NOT have fewer than 1 items" in text
    assert "metadata: must have required property 'publisher'" in text
