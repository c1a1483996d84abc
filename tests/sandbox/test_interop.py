"""Third-party SciCat clients, unchanged, against the sandbox."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyscicat.client as pyscicat_client
import pytest
import requests
from pyscicat.model import CreateDatasetOrigDatablockDto, DataFile, RawDataset
from scitacean import Client, Dataset, model
from scitacean.thumbnail import Thumbnail
from scitacean.transfer.copy import CopyFileTransfer

from scisync.sandbox import SandboxServer

pytestmark = pytest.mark.interop


def _scitacean_client(server: SandboxServer, username: str, password: str) -> Client:
    return Client.from_credentials(
        url=server.url,
        username=username,
        password=password,
        file_transfer=CopyFileTransfer(),
        allow_http=True,
    )


def test_scitacean_uploads_and_reads_back_dataset_files_and_attachment(
    scicat_sandbox: SandboxServer, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    local.mkdir()
    (local / "a.dat").write_bytes(b"alpha" * 100)
    (local / "b.dat").write_bytes(b"beta" * 7)
    remote = tmp_path / "remote" / "reduced"
    client = _scitacean_client(scicat_sandbox, "ingestor", "sandbox-ingestor")
    dataset = Dataset(
        type="derived",
        name="scitacean interop",
        owner="Ada",
        owner_group="ingestor",
        access_groups=["group1"],
        contact_email="ada@example.org",
        principal_investigators=["Ada"],
        input_datasets=["20.500.12269/raw-1"],
        used_software=["scitacean"],
        source_folder=remote.as_posix(),
        meta={"temperature": {"value": 20, "unit": "degC"}, "note": "hi"},
    )
    dataset.add_local_files(local / "a.dat", local / "b.dat")
    dataset.attachments = [
        model.Attachment(
            caption="a plot",
            owner_group="ingestor",
            access_groups=["group1"],  # includes are access-filtered per attachment
            thumbnail=Thumbnail(mime="image/png", data=b"\x89PNG fake"),
        )
    ]
    uploaded = client.upload_new_dataset_now(dataset)
    assert uploaded.pid is not None
    assert (remote / "a.dat").read_bytes() == b"alpha" * 100

    fresh = _scitacean_client(scicat_sandbox, "user1", "sandbox-user1")  # via accessGroups
    back = fresh.get_dataset(uploaded.pid, attachments=True)
    assert back.name == "scitacean interop"
    assert back.owner_group == "ingestor"
    assert back.used_software == ["scitacean"]
    assert back.meta["note"] == "hi"
    assert back.meta["temperature"]["value"] == 20
    assert back.meta["temperature"]["valueSI"] == pytest.approx(293.15)
    assert back.size == 500 + 28
    assert back.number_of_files == 2
    assert sorted(f.remote_path.posix for f in back.files) == ["a.dat", "b.dat"]
    assert back.attachments is not None and [a.caption for a in back.attachments] == ["a plot"]
    assert back.attachments[0].thumbnail == Thumbnail(mime="image/png", data=b"\x89PNG fake")

    target = tmp_path / "download"
    downloaded = fresh.download_files(back, target=target)
    assert (target / "a.dat").read_bytes() == b"alpha" * 100
    assert {f.local_path.name for f in downloaded.files if f.local_path} == {"a.dat", "b.dat"}


def test_scitacean_uploads_and_reads_a_sample(scicat_sandbox: SandboxServer) -> None:
    client = _scitacean_client(scicat_sandbox, "user1", "sandbox-user1")
    sample = model.Sample(
        owner_group="group1",
        sample_name="silicon wafer",
        description="a test sample",
        sample_characteristics={"thickness": {"value": 2, "unit": "mm"}},
    )
    uploaded = client.upload_new_sample_now(sample)
    assert uploaded.sample_id
    back = client.get_sample(uploaded.sample_id)
    assert back.sample_name == "silicon wafer"
    assert back.owner_group == "group1"
    assert back.sample_characteristics == {
        "thickness": {"value": 2, "unit": "mm", "valueSI": 0.002, "unitSI": "m"}
    }


def test_pyscicat_creates_dataset_with_origdatablock(scicat_sandbox: SandboxServer) -> None:
    client = pyscicat_client.from_credentials(
        base_url=scicat_sandbox.url, username="ingestor", password="sandbox-ingestor"
    )
    dataset = RawDataset(
        owner="Ada",
        contactEmail="ada@example.org",
        creationLocation="beamline 1",
        principalInvestigator="Ada",
        sourceFolder="/data/pyscicat/run1",
        creationTime="2026-01-02T03:04:05Z",
        ownerGroup="ingestor",
        accessGroups=[],
        scientificMetadata={"energy": {"value": 10, "unit": "keV"}},
    )
    pid = client.datasets_create(dataset)
    assert pid.startswith("20.500.12269/")
    checksum = hashlib.md5(b"x").hexdigest()
    files = [DataFile(path="f.h5", size=123, time="2026-01-02T03:04:05Z", chk=checksum)]
    block = client.datasets_origdatablock_create(
        pid, CreateDatasetOrigDatablockDto(size=123, dataFileList=files)
    )
    assert block["datasetId"] == pid
    back = client.datasets_get_one(pid)
    assert back is not None
    assert back["principalInvestigator"] == "Ada"
    assert back["size"] == 123 and back["numberOfFiles"] == 1
    # mathjs writes SI units in base units (backend test/TestData.js: eV -> "(kg m^2) / s^2").
    assert back["scientificMetadata"]["energy"]["unitSI"] == "(kg m^2) / s^2"
    blocks = client.datasets_origdatablocks_get_one(pid)
    assert blocks is not None and blocks[0]["dataFileList"][0]["chk"] == checksum
    found = client.datasets_get_many({"pid": {"inq": [pid]}})
    assert found is not None and [d["pid"] for d in found] == [pid]


def test_fullquery_from_scitacean_and_pyscicat(scicat_sandbox: SandboxServer) -> None:
    client = _scitacean_client(scicat_sandbox, "ingestor", "sandbox-ingestor")
    headers = {"Authorization": f"Bearer {scicat_sandbox.login('ingestor')}"}
    for proposal, temperature in (("bc.1", 10), ("bc.2", 20), ("bc.2", 300)):
        body = {
            "ownerGroup": "ingestor",
            "contactEmail": "a@example.org",
            "sourceFolder": f"/data/{proposal}/{temperature}",
            "creationTime": f"2026-01-01T00:00:{temperature % 60:02d}Z",
            "datasetName": f"{proposal} at {temperature}",
            "type": "raw",
            "proposalIds": [proposal],
            "scientificMetadata": {"temperature": {"value": temperature, "unit": "K"}},
        }
        reply = requests.post(f"{scicat_sandbox.root_url}/v4/datasets", json=body, headers=headers)
        assert reply.status_code == 201, reply.text
    found = client.scicat.query_datasets({"proposalIds": ["bc.2"]})
    assert sorted(d.datasetName or "" for d in found) == ["bc.2 at 20", "bc.2 at 300"]
    pyclient = pyscicat_client.from_credentials(
        base_url=scicat_sandbox.url, username="ingestor", password="sandbox-ingestor"
    )
    hot = pyclient.datasets_find(
        query_fields={
            "scientific": [
                {"lhs": "temperature", "relation": "GREATER_THAN", "rhs": 15, "unit": "K"}
            ]
        }
    )
    assert hot is not None
    assert [d["datasetName"] for d in hot] == ["bc.2 at 20", "bc.2 at 300"]  # creationTime desc
