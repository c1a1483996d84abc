"""The client against the sandbox SciCat over real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from scisync.desired.ids import make_marker
from scisync.errors import ApiError, AuthError
from scisync.manifest.model import ScicatConfig
from scisync.observe.model import ObservedFile
from scisync.sandbox import FaultInjection, SandboxServer, SandboxSettings
from scisync.scicat.auth import login, open_client, resolve_token
from scisync.scicat.client import ScicatClient
from scisync.scicat.credentials import CredentialStore, StoredCredential
from tests.scicat.dataset_bodies import dataset_body

PREFIX = "20.500.12269"


@pytest.fixture
def client(scicat_sandbox: SandboxServer) -> ScicatClient:
    return ScicatClient(scicat_sandbox.url, scicat_sandbox.login("ingestor"), backoff_factor=0)


def test_whoami(client: ScicatClient, scicat_sandbox: SandboxServer) -> None:
    me = client.whoami()
    assert me is not None and me["username"] == "ingestor"
    assert ScicatClient(scicat_sandbox.url, None).whoami() is None


def test_create_get_and_patch_dataset(client: ScicatClient) -> None:
    pid = f"{PREFIX}/raw-run-1"
    created = client.create_dataset(dataset_body("raw-run-1", pid=pid))
    assert created["pid"] == pid

    observed = client.get_dataset(pid)
    assert observed is not None
    assert observed.marker == "proj/raw-run-1"
    assert observed.fields["datasetName"] == "raw-run-1"
    assert client.get_dataset(f"{PREFIX}/nothing-here") is None

    # merge-patch merges scientificMetadata; plain JSON replaces it wholesale.
    merged = client.patch_dataset(
        pid, {"scientificMetadata": {"sample_count": 3}}, merge_patch=True
    )
    metadata = merged["scientificMetadata"]
    assert isinstance(metadata, dict)
    assert metadata["scisync_marker"] == "proj/raw-run-1"
    assert metadata["sample_count"] == 3
    replaced = client.patch_dataset(
        pid, {"scientificMetadata": {"only": "this"}}, merge_patch=False
    )
    assert replaced["scientificMetadata"] == {"only": "this"}


def test_duplicate_pid_is_a_clear_409(client: ScicatClient) -> None:
    pid = f"{PREFIX}/dup"
    client.create_dataset(dataset_body("dup", pid=pid))
    with pytest.raises(ApiError) as raised:
        client.create_dataset(dataset_body("dup", pid=pid), context="dataset dup")
    assert raised.value.status == 409
    assert str(raised.value).startswith("dataset dup: SciCat answered 409 to POST")
    assert "already exists" in str(raised.value)


def test_validation_errors_name_the_fields(client: ScicatClient) -> None:
    body = dataset_body("bad")
    body["contactEmail"] = "not-an-email"
    body["unknownField"] = 1
    with pytest.raises(ApiError) as raised:
        client.create_dataset(body, context="dataset bad")
    assert raised.value.status == 400
    assert "contactEmail" in str(raised.value)
    assert "unknownField" in str(raised.value)


def test_user_without_pid_permission_gets_403_hint(scicat_sandbox: SandboxServer) -> None:
    user = ScicatClient(scicat_sandbox.url, scicat_sandbox.login("user1"), backoff_factor=0)
    body = dataset_body("mine", pid=f"{PREFIX}/mine", ownerGroup="group1")
    with pytest.raises(ApiError) as raised:
        user.create_dataset(body, context="dataset mine")
    assert raised.value.status == 403
    assert "CREATE_DATASET_WITH_PID_GROUPS" in str(raised.value)


def test_anonymous_write_is_403_saying_no_token(scicat_sandbox: SandboxServer) -> None:
    anonymous = ScicatClient(scicat_sandbox.url, None, backoff_factor=0)
    with pytest.raises(ApiError, match="no token was sent"):
        anonymous.create_dataset(dataset_body("anon"))


def test_anonymous_403_hint_names_the_manifests_token_variable(
    scicat_sandbox: SandboxServer, tmp_path: Path
) -> None:
    """`token_env: MY_SCICAT_TOKEN`: the hint says to set that, and following it works."""
    anonymous = ScicatClient(
        scicat_sandbox.url, None, backoff_factor=0, token_env="MY_SCICAT_TOKEN"
    )
    with pytest.raises(ApiError) as raised:
        anonymous.create_dataset(dataset_body("anon2"))
    assert "$MY_SCICAT_TOKEN" in str(raised.value)
    assert "SCICAT_TOKEN" not in str(raised.value).replace("MY_SCICAT_TOKEN", "")
    config = ScicatConfig(url=scicat_sandbox.url, sandbox=None, token_env="MY_SCICAT_TOKEN")
    token = resolve_token(
        config,
        {"MY_SCICAT_TOKEN": scicat_sandbox.login("ingestor")},
        CredentialStore(tmp_path / "credentials.json"),
    )
    followed = ScicatClient(scicat_sandbox.url, token, backoff_factor=0)
    followed.create_dataset(dataset_body("anon2"))


def test_expired_token(scicat_sandbox: SandboxServer) -> None:
    # The sandbox signs tokens; an already-expired one is what SciCat answers SESSION_EXPIRED to.
    app, _ = scicat_sandbox._running()
    account = app.auth.accounts["ingestor"]
    expired = app.auth.issue(account, expires_in=-10)
    client = ScicatClient(scicat_sandbox.url, expired, backoff_factor=0)
    with pytest.raises(AuthError) as raised:
        client.get_datasets(["x"])
    assert "your SciCat token expired" in str(raised.value)
    assert "scisync login" in str(raised.value)
    assert expired not in str(raised.value)


def test_files_attachments_and_markers(client: ScicatClient) -> None:
    pid = f"{PREFIX}/with-files"
    client.create_dataset(dataset_body("with-files", pid=pid))
    block = client.create_origdatablock(
        pid,
        {
            "size": 15,
            "chkAlg": "SHA-256",
            "dataFileList": [
                {"path": "a.h5", "size": 10, "time": "2026-11-21T09:00:00Z", "chk": "aa"},
                {"path": "sub/b.txt", "size": 5, "time": "2026-11-21T09:00:00Z", "chk": "bb"},
            ],
        },
    )
    thumbnail = "data:image/png;base64,iVBORw0KGgo="
    attachment = client.create_attachment(
        pid, "a plot", thumbnail, "att-with-files", "ingestor", ["group1"]
    )
    assert attachment["aid"] == "att-with-files"

    found = client.find_datasets_by_markers(["proj/with-files", "proj/absent"])
    assert found["proj/absent"] == []
    (dataset,) = found["proj/with-files"]
    assert dataset.pid == pid
    assert dataset.files == (
        ObservedFile("a.h5", 10, "aa", "sha256"),
        ObservedFile("sub/b.txt", 5, "bb", "sha256"),
    )
    assert dataset.block_ids == (block["_id"],)
    (observed_attachment,) = dataset.attachments
    assert observed_attachment.id == "att-with-files"
    assert observed_attachment.caption == "a plot"
    assert observed_attachment.thumbnail_sha256 == hashlib.sha256(thumbnail.encode()).hexdigest()

    # The summaries the settled rule reads: the same record, its blocks without file lists.
    summaries = client.find_dataset_summaries_by_markers(["proj/with-files", "proj/absent"])
    assert summaries["proj/absent"] == []
    (summary,) = summaries["proj/with-files"]
    assert dataset.files_listed and not summary.files_listed and summary.files == ()
    assert summary == replace(dataset, files=(), files_listed=False)

    client.patch_attachment("att-with-files", {"caption": "a better plot"})
    again = client.get_dataset(pid)
    assert again is not None
    assert [a.caption for a in again.attachments] == ["a better plot"]


def test_250_datasets_are_observed_in_a_handful_of_requests(
    client: ScicatClient, scicat_sandbox: SandboxServer
) -> None:
    keys = [f"bulk-{i:03d}" for i in range(250)]
    for key in keys:
        client.create_dataset(dataset_body(key, pid=f"{PREFIX}/{key}"))
    before = client.request_count
    scicat_sandbox.reset_stats()

    found = client.find_datasets_by_markers([make_marker("proj", key) for key in keys])
    by_pid = client.get_datasets([f"{PREFIX}/{key}" for key in keys])

    used = client.request_count - before
    print(f"SciCat requests to observe 250 datasets (markers, pids; blocks included): {used}")
    assert used <= 8, f"{used} requests for 250 datasets"
    assert sum(scicat_sandbox.stats().values()) == used
    assert all(len(found[make_marker("proj", key)]) == 1 for key in keys)
    assert len(by_pid) == 250


def test_pagination_collects_every_page(scicat_sandbox: SandboxServer) -> None:
    token = scicat_sandbox.login("ingestor")
    writer = ScicatClient(scicat_sandbox.url, token)
    keys = [f"page-{i:02d}" for i in range(23)]
    for key in keys:
        writer.create_dataset(dataset_body(key, pid=f"{PREFIX}/{key}"))
    reader = ScicatClient(scicat_sandbox.url, token, page_size=5)
    found = reader.get_datasets([f"{PREFIX}/{key}" for key in keys])
    assert sorted(found) == sorted(f"{PREFIX}/{key}" for key in keys)
    assert reader.request_count == 5  # pages of 5, 5, 5, 5, 3


def test_samples(client: ScicatClient) -> None:
    created = client.create_sample(
        {"sampleId": "s-1", "sampleName": "salt", "ownerGroup": "ingestor", "isPublished": True}
    )
    assert created["sampleId"] == "s-1"
    sample = client.get_sample("s-1")
    assert sample is not None and sample.fields["sampleName"] == "salt"
    assert client.get_sample("s-missing") is None

    patched = client.patch_sample("s-1", {"description": "NaCl"}, is_published=True)
    assert patched["isPublished"] is True  # the quirk would have unpublished it
    assert patched["description"] == "NaCl"

    client.create_sample({"sampleId": "s-2", "sampleName": "sugar", "ownerGroup": "ingestor"})
    found = client.get_samples(["s-1", "s-2", "s-3"])
    assert sorted(found) == ["s-1", "s-2"]

    with pytest.raises(ApiError) as raised:
        client.create_sample({"sampleId": "s-1", "sampleName": "x", "ownerGroup": "ingestor"})
    assert raised.value.status == 500
    assert "duplicate sampleId" in str(raised.value)


def test_login_and_resolve_through_the_store(scicat_sandbox: SandboxServer, tmp_path: Path) -> None:
    result = login(scicat_sandbox.url, "ingestor", "sandbox-ingestor")
    assert result.expires_at is not None
    store = CredentialStore(tmp_path / "scisync" / "credentials.json")
    store.put(scicat_sandbox.url, StoredCredential(result.token, result.expires_at))
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600

    config = ScicatConfig(url=scicat_sandbox.url, sandbox=None)
    token = resolve_token(config, {}, store)
    me = ScicatClient(scicat_sandbox.url, token).whoami()
    assert me is not None and me["username"] == "ingestor"

    with pytest.raises(AuthError, match="refused the username or password"):
        login(scicat_sandbox.url, "ingestor", "wrong-password")


def test_open_client_uses_the_configured_env_var(
    scicat_sandbox: SandboxServer, tmp_path: Path
) -> None:
    config = ScicatConfig(url=None, sandbox=tmp_path, token_env="MY_SCICAT_TOKEN", timeout=7.0)
    environ = {"MY_SCICAT_TOKEN": scicat_sandbox.login("user1")}
    store = CredentialStore(tmp_path / "credentials.json")
    with open_client(config, environ, store, base_url=scicat_sandbox.url) as client:
        me = client.whoami()
        assert me is not None and me["username"] == "user1"
        assert client.timeout == 7.0
        assert "$MY_SCICAT_TOKEN" in client.token_hint


def test_reads_and_patches_survive_a_flaky_sandbox(tmp_path: Path) -> None:
    keys = [f"flaky-{i:02d}" for i in range(40)]
    with SandboxServer(tmp_path / "data") as steady:
        writer = ScicatClient(steady.url, steady.login("ingestor"))
        for key in keys:
            writer.create_dataset(dataset_body(key, pid=f"{PREFIX}/{key}"))
    faults = FaultInjection(rate=0.4, kinds=("502", "503", "drop"), seed=7)
    with SandboxServer(tmp_path / "data", settings=SandboxSettings(faults=faults)) as flaky:
        client = ScicatClient(flaky.url, flaky.login("ingestor"), backoff_factor=0.01, retries=8)
        client.page_size = 10  # several pages, each one can fail
        found = client.find_datasets_by_markers([make_marker("proj", key) for key in keys])
        for key in keys[:5]:
            client.patch_dataset(f"{PREFIX}/{key}", {"description": "patched"}, merge_patch=True)
        served = sum(flaky.stats().values())
        assert served > client.request_count  # some requests really were retried
    assert all(len(found[make_marker("proj", key)]) == 1 for key in keys)
    with SandboxServer(tmp_path / "data") as again:
        check = ScicatClient(again.url, again.login("ingestor"))
        patched = check.get_datasets([f"{PREFIX}/{key}" for key in keys[:5]])
        assert {d.fields["description"] for d in patched.values()} == {"patched"}


def test_verify_token_catches_tokens_scicat_treats_as_anonymous(
    scicat_sandbox: SandboxServer,
) -> None:
    good = ScicatClient(scicat_sandbox.url, scicat_sandbox.login("ingestor"))
    assert good.verify_token()["username"] == "ingestor"
    forged = ScicatClient(scicat_sandbox.url, "eyJhbGciOiJIUzI1NiJ9.e30.forged-signature")
    with pytest.raises(AuthError) as raised:
        forged.verify_token()
    assert "does not recognise the token" in str(raised.value)
    assert "forged-signature" not in str(raised.value)
    # The same token on a write: 403 whose hint mentions the unrecognised token.
    with pytest.raises(ApiError) as refused:
        forged.create_dataset(dataset_body("forged"))
    assert refused.value.status == 403
    assert "did not recognise the token" in str(refused.value)
    assert "CREATE_DATASET_GROUPS" in str(refused.value)
