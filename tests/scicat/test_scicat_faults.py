"""Retries, timeouts and refused connections, injected by a scripted HTTP server."""

from __future__ import annotations

import time

import pytest

from scisync.errors import ApiError, ConfigError
from scisync.scicat.client import ScicatClient
from tests.scicat.fault_server import Answer, FaultServer

DATASET = {"pid": "p/1", "datasetName": "one", "scientificMetadata": {}}


def make_client(server: FaultServer, **options: object) -> ScicatClient:
    options.setdefault("backoff_factor", 0.0)
    return ScicatClient(server.url, "a-token-value", **options)  # type: ignore[arg-type]


def test_get_succeeds_after_two_503(fault_server: FaultServer) -> None:
    fault_server.queue(Answer(503, {"message": "busy"}), Answer(503, "busy"), Answer(200, DATASET))
    with make_client(fault_server) as client:
        dataset = client.get_dataset("p/1")
        assert dataset is not None and dataset.pid == "p/1"
        assert client.request_count == 1
    assert [r.method for r in fault_server.requests] == ["GET"] * 3


def test_patch_is_retried_after_502(fault_server: FaultServer) -> None:
    fault_server.queue(Answer(502, "bad gateway"), Answer(200, DATASET))
    with make_client(fault_server) as client:
        result = client.patch_dataset("p/1", {"description": "x"}, merge_patch=False)
    assert result["pid"] == "p/1"
    assert [r.method for r in fault_server.requests] == ["PATCH", "PATCH"]
    assert fault_server.requests[1].json == {"description": "x"}


def test_post_answered_503_is_not_repeated(fault_server: FaultServer) -> None:
    fault_server.queue(Answer(503, {"message": "maintenance"}), Answer(201, DATASET))
    with make_client(fault_server) as client, pytest.raises(ApiError) as raised:
        client.create_dataset({"datasetName": "one"}, context="dataset raw-run-1")
    assert len(fault_server.requests) == 1
    assert raised.value.status == 503
    assert "dataset raw-run-1" in str(raised.value)
    assert "maintenance" in str(raised.value)


def test_post_read_timeout_is_not_repeated(fault_server: FaultServer) -> None:
    fault_server.queue(Answer(201, DATASET, delay=1.0))
    with make_client(fault_server, timeout=0.2) as client, pytest.raises(ApiError) as raised:
        client.create_dataset({"datasetName": "one"})
    assert len(fault_server.requests) == 1
    assert "did not answer POST" in str(raised.value)


def test_429_retry_after_is_honoured(fault_server: FaultServer) -> None:
    fault_server.queue(Answer(429, {"message": "slow down"}, {"Retry-After": "1"}))
    fault_server.queue(Answer(200, [DATASET]))
    with make_client(fault_server) as client:
        found = client.get_datasets(["p/1"])
    assert list(found) == ["p/1"]
    first, second = fault_server.requests
    # backoff_factor is 0, so only the server's Retry-After can explain the pause.
    assert second.at - first.at >= 0.9


def test_retries_exhausted_report_the_last_answer(fault_server: FaultServer) -> None:
    fault_server.default = Answer(503, {"message": "down for maintenance"})
    with make_client(fault_server, retries=2) as client, pytest.raises(ApiError) as raised:
        client.whoami()
    assert len(fault_server.requests) == 3
    assert raised.value.status == 503
    assert "down for maintenance" in str(raised.value)
    assert "try again later" in str(raised.value)


def test_get_timeout_is_retried_then_reported(fault_server: FaultServer) -> None:
    fault_server.default = Answer(200, {}, delay=0.6)
    client = make_client(fault_server, timeout=0.2, retries=1)
    with client, pytest.raises(ApiError) as raised:
        client.get_dataset("p/1")
    assert len(fault_server.requests) == 2
    assert f"127.0.0.1:{fault_server.port}/api/v4/datasets/p%2F1" in str(raised.value)
    assert "in time" in str(raised.value)


def test_connection_refused_names_the_url(refused_url: str) -> None:
    # Default retries and backoff: a refused connection is never retried, so this is fast.
    client = ScicatClient(refused_url, "a-token-value")
    started = time.monotonic()
    with pytest.raises(ApiError) as raised:
        client.create_dataset({"datasetName": "x"}, context="dataset raw-run-1")
    assert time.monotonic() - started < 1.0
    text = str(raised.value)
    root = refused_url.removesuffix("/v3")
    assert f"{root}/v4/datasets" in text
    assert "nothing answers there (refused)" in text
    assert "check the port" in text
    assert "dataset raw-run-1" in text
    assert raised.value.status is None


def test_an_unknown_host_fails_fast_with_one_message() -> None:
    client = ScicatClient("http://no-such-host.invalid/api/v3", None)
    started = time.monotonic()
    with pytest.raises(ApiError, match="the host name is not known"):
        client.get_datasets(["x"])
    assert time.monotonic() - started < 5.0  # the resolver's own time, no retries


def test_a_url_that_is_not_http_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"scicat\.url"):
        ScicatClient("scicat.example.org/api/v3", None)


@pytest.mark.parametrize(
    "given",
    [
        "http://h:3000/api/v3",
        "http://h:3000/api/v3/",
        "http://h:3000/api/v4",
        "http://h:3000/api",
        "http://h:3000",
    ],
)
def test_api_root_is_derived(given: str) -> None:
    assert ScicatClient(given, None).url("v4/datasets") == "http://h:3000/api/v4/datasets"
