"""SciCat's official generated client (scicat-sdk-py), unchanged, against the sandbox.

Every call goes through the SDK's own methods, so every answer is parsed into its pydantic
models: a field the sandbox leaves out that a model requires, or a value of the wrong type,
fails the test.  Where the SDK's models and the backend disagree the sandbox follows the
backend; the test then says so (see the comments).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from scicat_sdk_py import (
    ApiClient,
    AttachmentsV4Api,
    AuthApi,
    Configuration,
    DatasetsApi,
    DatasetsV4Api,
    OrigdatablocksApi,
    OrigdatablocksV4Api,
    PublishedDataV4Api,
    SamplesApi,
)
from scicat_sdk_py.exceptions import ApiException
from scicat_sdk_py.models import (
    CreateAttachmentV4Dto,
    CreateDatasetDto,
    CreateDatasetOrigDatablockDto,
    CreateOrigDatablockDto,
    CreatePublishedDataV4Dto,
    CreateRawDatasetObsoleteDto,
    CreateSampleDto,
    CredentialsDto,
    DataFile,
    DatasetsControllerCreateV3Request,
    DatasetsControllerFindByIdAndUpdateV3Request,
    PartialUpdateDatasetDto,
    PartialUpdatePublishedDataV4Dto,
    PartialUpdateRawDatasetObsoleteDto,
    PublishedData,
)

from scisync.sandbox import SandboxServer

pytestmark = pytest.mark.interop


def _client(server: SandboxServer, token: str | None = None) -> ApiClient:
    config = Configuration(host=server.root_url.removesuffix("/api"))
    if token is not None:
        config.access_token = token
    return ApiClient(config)


@pytest.fixture
def ingestor(scicat_sandbox: SandboxServer) -> Iterator[ApiClient]:
    """An SDK client logged in through the SDK's own login call."""
    with _client(scicat_sandbox) as anonymous:
        answer = AuthApi(anonymous).auth_controller_login_v3(
            CredentialsDto(username="ingestor", password="sandbox-ingestor")
        )
    assert answer.access_token and answer.user.username == "ingestor"
    with _client(scicat_sandbox, answer.access_token) as client:
        yield client


def _raw_v3(proposal: str, temperature: float) -> DatasetsControllerCreateV3Request:
    return DatasetsControllerCreateV3Request(
        CreateRawDatasetObsoleteDto(
            owner_group="ingestor",
            owner="Ada",
            contact_email="ada@example.org",
            source_folder=f"/data/{proposal}/{temperature}",
            creation_time="2026-01-02T03:04:05Z",
            # The SDK's model requires datasetName; the backend fills it from sourceFolder.
            dataset_name=f"{proposal} at {temperature}",
            type="raw",
            principal_investigator="Ada",
            creation_location="beamline 1",
            proposal_id=proposal,
            sample_id="sample-1",
            instrument_id="instrument-1",
            scientific_metadata={"temperature": {"value": temperature, "unit": "K"}},
        )
    )


def _parsed(response: Any) -> PublishedData:
    assert response.status == 201
    record = PublishedData.from_json(response.data.decode("utf-8"))
    assert record is not None
    return record


def test_login_ldap_and_whoami(scicat_sandbox: SandboxServer) -> None:
    with _client(scicat_sandbox) as anonymous:
        answer = AuthApi(anonymous).auth_controller_ldap_login_v3(
            CredentialsDto(username="ldap1", password="sandbox-ldap1")
        )
        with pytest.raises(ApiException) as refused:
            AuthApi(anonymous).auth_controller_ldap_login_v3(
                CredentialsDto(username="ingestor", password="sandbox-ingestor")
            )
    assert refused.value.status == 401
    assert answer.user_id == "sandbox-user-ldap1" and answer.expires_in == 3600
    with _client(scicat_sandbox, answer.access_token) as client:
        raw = AuthApi(client).auth_controller_whoami_v3_without_preload_content()
    me = json.loads(raw.data)
    assert (me["username"], me["authStrategy"]) == ("ldap1", "ldap")


def test_v3_datasets_create_get_list_count_find_one_patch(ingestor: ApiClient) -> None:
    api = DatasetsApi(ingestor)
    created = api.datasets_controller_create_v3(_raw_v3("p.1", 10))
    assert created.pid.startswith("20.500.12269/")
    # v3 answers carry the singular ids beside the stored arrays, as the backend does.
    assert (created.proposal_id, created.sample_id, created.instrument_id) == (
        "p.1",
        "sample-1",
        "instrument-1",
    )
    api.datasets_controller_create_v3(_raw_v3("p.2", 300))

    one = api.datasets_controller_find_by_id_v3(created.pid)
    assert one.pid == created.pid and one.principal_investigator == "Ada"
    assert one.scientific_metadata is not None
    assert one.scientific_metadata["temperature"]["unitSI"] == "K"

    where = {"where": {"proposalIds": {"inq": ["p.2"]}}}
    listed = api.datasets_controller_find_all_v3(filter=json.dumps(where))
    assert [d.proposal_id for d in listed] == ["p.2"]
    assert api.datasets_controller_count_v3(filter=json.dumps(where)).count == 1
    first = api.datasets_controller_find_one_v3(filter=json.dumps(where))
    assert first.proposal_id == "p.2"

    # The SDK's v3 update body is a oneOf of partial DTOs; to_dict() also sends their
    # defaults (size=0, isPublished=False), which the backend $sets (scicat-api.md §2).
    update = DatasetsControllerFindByIdAndUpdateV3Request(
        PartialUpdateRawDatasetObsoleteDto(description="patched")
    )
    patched = api.datasets_controller_find_by_id_and_update_v3(created.pid, update)
    assert patched.description == "patched" and patched.proposal_id == "p.1"


def test_v4_datasets_create_get_list_count_find_one_patch(ingestor: ApiClient) -> None:
    api = DatasetsV4Api(ingestor)
    body = CreateDatasetDto(
        owner_group="ingestor",
        contact_email="ada@example.org",
        source_folder="/data/v4/one",
        creation_time="2026-01-02T03:04:05Z",
        dataset_name="v4 one",
        type="derived",
        proposal_ids=["p.4"],
        keywords=["sdk"],
    )
    created = api.datasets_v4_controller_create_v4(body)
    assert created.pid and created.dataset_name == "v4 one" and created.version == "4"
    got = api.datasets_v4_controller_find_by_id_v4(created.pid)
    assert got.pid == created.pid and got.keywords == ["sdk"]
    # OutputDatasetDto has no origdatablocks field: the SDK drops what an include adds
    # (the backend sends it), so scisync reads includes without the SDK.
    raw = api.datasets_v4_controller_find_by_id_v4_without_preload_content(
        created.pid, include=["origdatablocks"]
    )
    assert json.loads(raw.data)["origdatablocks"] == []
    where = {"where": {"keywords": "sdk"}, "limits": {"limit": 5, "skip": 0}}
    listed = api.datasets_v4_controller_find_all_v4(filter=json.dumps(where))
    assert [d.pid for d in listed] == [created.pid]
    assert api.datasets_v4_controller_count_v4(filter=json.dumps({"where": {}})).count == 1
    first = api.datasets_v4_controller_find_one_v4(filter=json.dumps(where))
    assert first.pid == created.pid
    # PartialUpdateDatasetDto's to_dict() also sends its defaults (size=0,
    # isPublished=False); the backend $sets them (scicat-api.md §2).
    patched = api.datasets_v4_controller_find_by_id_and_update_v4(
        created.pid, PartialUpdateDatasetDto(description="v4 patched")
    )
    assert patched.description == "v4 patched"


def test_origdatablocks_v3_and_v4(ingestor: ApiClient) -> None:
    pid = DatasetsApi(ingestor).datasets_controller_create_v3(_raw_v3("p.b", 1)).pid
    files = [DataFile(path="a.h5", size=10, time="2026-01-02T03:04:05Z", chk="abc")]
    nested = DatasetsApi(ingestor).datasets_controller_create_orig_datablock_v3(
        pid, CreateDatasetOrigDatablockDto(size=10, data_file_list=files)
    )
    assert nested.dataset_id == pid
    # Backend and SDK disagree: OutputOrigDatablockDto declares a required `version`, but
    # the OrigDatablock schema has no such field (src/origdatablocks/schemas/
    # origdatablock.schema.ts), so the real backend's answer lacks it too and the SDK's
    # parse fails after the block was stored.  The sandbox follows the backend.
    v4_body = CreateOrigDatablockDto(dataset_id=pid, size=10, data_file_list=files, chk_alg="md5")
    with pytest.raises(ValidationError, match="version"):
        OrigdatablocksV4Api(ingestor).orig_datablocks_v4_controller_create_v4(v4_body)
    listed = OrigdatablocksApi(ingestor).orig_datablocks_controller_find_all_v3(
        filter=json.dumps({"where": {"datasetId": pid}})
    )
    assert len(listed) == 2 and {b.chk_alg for b in listed} == {None, "md5"}
    one = OrigdatablocksApi(ingestor).orig_datablocks_controller_find_by_id_v3(nested.id)
    assert one.data_file_list[0].path == "a.h5"
    # Backend and SDK disagree: the controller returns one {count} object, its Swagger
    # decorator says isArray (src/datasets/datasets.controller.ts countOrigDatablocks).
    with pytest.raises(ValidationError, match="CountApiResponse"):
        DatasetsApi(ingestor).datasets_controller_count_orig_datablocks_v3(pid)
    raw = DatasetsApi(
        ingestor
    ).datasets_controller_count_orig_datablocks_v3_without_preload_content(pid)
    assert json.loads(raw.data) == {"count": 2}


def test_attachments_v3_and_v4(ingestor: ApiClient) -> None:
    pid = DatasetsApi(ingestor).datasets_controller_create_v3(_raw_v3("p.a", 1)).pid
    created = AttachmentsV4Api(ingestor).attachments_v4_controller_create_attachment_v4(
        CreateAttachmentV4Dto(
            caption="a plot",
            owner_group="ingestor",
            is_published=False,
            thumbnail="data:image/png;base64,iVBORw0KGgo=",
            relationships=[{"targetId": pid, "targetType": "dataset"}],
        )
    )
    assert created.caption == "a plot"
    one = AttachmentsV4Api(ingestor).attachments_v4_controller_find_one_v4(created.aid)
    assert one.aid == created.aid
    listed_v4 = AttachmentsV4Api(ingestor).attachments_v4_controller_find_all_v4(
        filter=json.dumps({"where": {"relationships.targetId": pid}})
    )
    assert [a.aid for a in listed_v4] == [created.aid]
    # Backend and SDK disagree: the v3 list is typed List[Attachment] (aid required), but
    # the backend turns each record into the obsolete shape with `id` instead of `aid`
    # (revertCurrentSchemaToObsoleteDto, src/attachments/attachments.service.ts).
    with pytest.raises(ValidationError, match="aid"):
        DatasetsApi(ingestor).datasets_controller_find_all_attachments_v3(pid)
    raw = DatasetsApi(ingestor).datasets_controller_find_all_attachments_v3_without_preload_content(
        pid
    )
    assert [(a["id"], a["datasetId"]) for a in json.loads(raw.data)] == [(created.aid, pid)]


def test_samples(ingestor: ApiClient) -> None:
    api = SamplesApi(ingestor)
    created = api.samples_controller_create_v3(
        CreateSampleDto(
            sample_name="wafer",
            owner_group="ingestor",
            sample_characteristics={"thickness": {"value": 2, "unit": "mm"}},
        )
    )
    assert created.sample_id
    got = api.samples_controller_find_by_id_v3(created.sample_id)
    assert got.sample_name == "wafer"
    assert got.sample_characteristics == {
        "thickness": {"value": 2, "unit": "mm", "valueSI": 0.002, "unitSI": "m"}
    }
    listed = api.samples_controller_find_all_v3(
        filter=json.dumps({"where": {"sampleName": {"inq": ["wafer"]}}})
    )
    assert [s.sample_id for s in listed] == [created.sample_id]


def test_published_data_lifecycle(scicat_sandbox: SandboxServer, ingestor: ApiClient) -> None:
    pid = DatasetsApi(ingestor).datasets_controller_create_v3(_raw_v3("p.pub", 1)).pid
    api = PublishedDataV4Api(ingestor)
    created = api.published_data_v4_controller_create_v4(
        CreatePublishedDataV4Dto(
            title="A paper's data",
            abstract="What we measured",
            dataset_pids=[pid],
            metadata={
                "creators": [{"name": "Ada Lovelace"}],
                "publisher": {"name": "Sandbox", "publisherIdentifierScheme": "ROR"},
                "publicationYear": 2026,
                "resourceType": "Dataset",
            },
        )
    )
    assert created.status == "private" and created.doi
    updated = api.published_data_v4_controller_update_v4(
        created.doi, PartialUpdatePublishedDataV4Dto(title="A better title")
    )
    assert updated.title == "A better title"
    listed = api.published_data_v4_controller_find_all_v4()
    assert [p.doi for p in listed] == [created.doi]
    assert api.published_data_v4_controller_count_v4().count == 1
    # Backend and SDK disagree: publish/register/amend are @Post() routes without
    # @HttpCode, so NestJS answers 201, while the SDK maps only a 200 body and returns
    # None.  The sandbox follows the backend; the record still parses into the model.
    assert api.published_data_v4_controller_publish_v4(created.doi) is None
    assert api.published_data_v4_controller_find_one_v4(created.doi).status == "public"
    registered = _parsed(
        api.published_data_v4_controller_register_v4_without_preload_content(created.doi)
    )
    assert registered.status == "registered" and registered.registered_time is not None
    with pytest.raises(ApiException) as refused:
        api.published_data_v4_controller_update_v4(
            created.doi, PartialUpdatePublishedDataV4Dto(title="too late")
        )
    assert refused.value.status == 400
    # Amending is for ADMIN_GROUPS only (the backend's publishedDataInstanceAccess).
    with pytest.raises(ApiException) as not_admin:
        api.published_data_v4_controller_amend_v4(created.doi)
    assert not_admin.value.status == 403
    with _client(scicat_sandbox, scicat_sandbox.login("admin")) as admin:
        admin_api = PublishedDataV4Api(admin)
        amended = _parsed(
            admin_api.published_data_v4_controller_amend_v4_without_preload_content(created.doi)
        )
    assert amended.status == "amended"
    got = api.published_data_v4_controller_find_one_v4(created.doi)
    assert got.title == "A better title" and got.status == "amended"
    assert DatasetsApi(ingestor).datasets_controller_find_by_id_v3(pid).is_published is True
