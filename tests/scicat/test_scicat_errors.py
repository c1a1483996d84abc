"""Every SciCat error shape becomes one clear ApiError; the token never leaks."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from scisync.errors import ApiError, AuthError
from scisync.scicat.client import ScicatClient
from tests.scicat.fault_server import Answer, FaultServer, Recorded

TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.secret-signature-for-tests"


def client_for(server: FaultServer, token: str | None = TOKEN) -> ScicatClient:
    return ScicatClient(server.url, token, retries=0, backoff_factor=0)


def failure(server: FaultServer, answer: Answer, token: str | None = TOKEN) -> ApiError:
    server.queue(answer)
    with client_for(server, token) as client, pytest.raises(ApiError) as raised:
        client.patch_dataset(
            "20.500/abc", {"description": "d"}, merge_patch=True, context="dataset raw-run-1"
        )
    return raised.value


def test_standard_400_lists_every_message(fault_server: FaultServer) -> None:
    body = {
        "message": ["contactEmail must be an email", "property foo should not exist"],
        "error": "Bad Request",
        "statusCode": 400,
    }
    error = failure(fault_server, Answer(400, body))
    text = str(error)
    assert text.startswith("dataset raw-run-1: SciCat answered 400 to PATCH")
    assert "contactEmail must be an email; property foo should not exist" in text
    assert error.status == 400
    assert error.server_message == "contactEmail must be an email; property foo should not exist"


def test_v3_400_decodes_class_validator_string(fault_server: FaultServer) -> None:
    errors = [
        {"property": "ownerGroup", "constraints": {"isNotEmpty": "ownerGroup should not be empty"}},
        {
            "property": "techniques",
            "children": [
                {
                    "property": "0",
                    "children": [
                        {"property": "pid", "constraints": {"isString": "pid must be a string"}}
                    ],
                }
            ],
        },
    ]
    error = failure(fault_server, Answer(400, {"status": 400, "message": json.dumps(errors)}))
    assert error.server_message == (
        "ownerGroup: ownerGroup should not be empty; techniques.0.pid: pid must be a string"
    )


def test_401_session_expired_is_an_auth_error_saying_what_to_do(
    fault_server: FaultServer,
) -> None:
    error = failure(fault_server, Answer(401, {"message": "SESSION_EXPIRED", "statusCode": 401}))
    assert isinstance(error, AuthError)
    assert "your SciCat token expired" in str(error)
    assert "scisync login" in str(error) and "$SCICAT_TOKEN" in str(error)


def test_401_without_token_says_token_missing(fault_server: FaultServer) -> None:
    error = failure(fault_server, Answer(401, {"message": "Unauthenticated"}), token=None)
    assert isinstance(error, AuthError)
    assert "token is missing" in str(error)
    assert "Unauthenticated" in str(error)


def test_403_names_the_missing_permission(fault_server: FaultServer) -> None:
    error = failure(fault_server, Answer(403, {"message": "Unauthorized to update this dataset"}))
    assert "Unauthorized to update this dataset" in str(error)
    assert "ownerGroup" in str(error)
    anonymous = failure(
        fault_server, Answer(403, {"message": "Forbidden resource", "statusCode": 403}), token=None
    )
    assert "no token was sent" in str(anonymous)


@pytest.mark.parametrize(
    ("status", "body", "words", "hint"),
    [
        (
            404,
            {"message": "dataset: 20.500/abc not found", "statusCode": 404},
            "not found",
            "does not exist",
        ),
        (409, {"message": "A dataset with pid X already exists!"}, "already exists", "plan"),
        (412, {"message": "Precondition Failed"}, "Precondition Failed", "changed the object"),
        (413, {"message": "request entity too large"}, "too large", "MAX_FILE_UPLOAD_SIZE"),
        (500, "Internal server error", "Internal server error", "duplicate sampleId"),
    ],
)
def test_status_shapes(
    fault_server: FaultServer, status: int, body: object, words: str, hint: str
) -> None:
    error = failure(fault_server, Answer(status, body))
    assert error.status == status
    assert words in str(error)
    assert hint in str(error)
    assert "dataset raw-run-1" in str(error)


def test_html_error_page_is_shortened(fault_server: FaultServer) -> None:
    page = "<html><body>" + "gateway " * 500 + "</body></html>"
    error = failure(fault_server, Answer(504, page))
    assert error.server_message is not None and len(error.server_message) <= 600


def test_get_dataset_404_is_none_but_403_raises(fault_server: FaultServer) -> None:
    fault_server.queue(
        Answer(404, {"message": "Not Found"}), Answer(403, {"message": "Unauthorized access"})
    )
    with client_for(fault_server) as client:
        assert client.get_dataset("missing") is None
        with pytest.raises(ApiError, match="Unauthorized access") as raised:
            client.get_dataset("hidden")
    assert "ownerGroup or accessGroups" in str(raised.value)


def test_if_unmodified_since_is_sent(fault_server: FaultServer) -> None:
    fault_server.queue(Answer(200, {"pid": "p"}))
    with client_for(fault_server) as client:
        client.patch_dataset(
            "p",
            {"description": "d"},
            merge_patch=True,
            unmodified_since=datetime(2026, 11, 21, 9, 30, tzinfo=UTC),
        )
    sent = fault_server.requests[0].headers
    assert sent["if-unmodified-since"] == "Sat, 21 Nov 2026 09:30:00 GMT"
    assert sent["content-type"] == "application/merge-patch+json"


def test_non_json_success_is_reported(fault_server: FaultServer) -> None:
    fault_server.queue(Answer(200, "<html>login page</html>"))
    with client_for(fault_server) as client, pytest.raises(ApiError, match="not JSON"):
        client.create_dataset({"x": 1})


def _leaky(record: Recorded) -> Answer:
    """A misbehaving proxy that echoes the Authorization header into its error text."""
    return Answer(400, {"message": [f"bad header {record.headers.get('authorization')}"]})


def test_token_never_appears_in_errors_or_reprs(
    fault_server: FaultServer, refused_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fault_server.responder = _leaky
    client = ScicatClient(fault_server.url, TOKEN, retries=1, backoff_factor=0)
    texts: list[str] = [repr(client), str(client), repr(client._session.auth)]
    texts += [repr(client._session), str(dict(client._session.headers))]
    with pytest.raises(ApiError) as echoed:
        client.create_dataset({"x": 1})
    texts += [str(echoed.value), repr(echoed.value), str(echoed.value.server_message)]
    fault_server.responder = None
    fault_server.default = Answer(401, {"message": "SESSION_EXPIRED"})
    with pytest.raises(AuthError) as expired:
        client.get_datasets(["a"])
    texts += [str(expired.value), repr(expired.value)]
    refused = ScicatClient(refused_url, TOKEN, retries=0)
    with pytest.raises(ApiError) as down:
        refused.whoami()
    texts += [str(down.value), repr(down.value), repr(refused)]
    texts += [record.getMessage() for record in caplog.records]
    # The token really was sent (so the checks above could have seen it) ...
    assert fault_server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert "***" in str(echoed.value)
    # ... and none of the texts shows it, nor its signature part.
    for text in texts:
        assert TOKEN not in text
        assert "secret-signature-for-tests" not in text
