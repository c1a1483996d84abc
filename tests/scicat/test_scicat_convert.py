"""v4 documents -> observed dataclasses."""

from __future__ import annotations

import hashlib

import pytest

from scisync._util.jsontypes import JsonObject
from scisync.observe.model import ObservedAttachment, ObservedFile
from scisync.scicat.convert import (
    dataset_from_document,
    normalise_chk_alg,
    sample_from_document,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("SHA-256", "sha256"), ("sha256", "sha256"), ("BLAKE3", "blake3"), ("", None), (None, None)],
)
def test_chk_alg_names_are_normalised(given: str | None, expected: str | None) -> None:
    assert normalise_chk_alg(given) == expected


def test_dataset_with_included_blocks_and_attachments() -> None:
    thumbnail = "data:image/png;base64,AAAA"
    document: JsonObject = {
        "pid": "20.500/x",
        "datasetName": "run",
        "scientificMetadata": {"scisync_marker": "proj/run"},
        "origdatablocks": [
            {
                "_id": "b1",
                "chkAlg": "SHA-256",
                "dataFileList": [
                    {"path": "a.h5", "size": 10, "chk": "abc"},
                    {"path": "b.h5", "size": 5},
                ],
            },
            {"_id": "b2", "dataFileList": [{"path": "c/d.txt", "size": 1, "chk": "ff"}]},
        ],
        "attachments": [
            {"aid": "att-1", "_id": "att-1", "caption": "plot", "thumbnail": thumbnail}
        ],
    }
    dataset = dataset_from_document(document)
    assert dataset.pid == "20.500/x"
    assert dataset.marker == "proj/run"
    assert "origdatablocks" not in dataset.fields and "attachments" not in dataset.fields
    assert dataset.fields["datasetName"] == "run"
    assert dataset.block_ids == ("b1", "b2")
    assert dataset.files == (
        ObservedFile("a.h5", 10, "abc", "sha256"),
        ObservedFile("b.h5", 5, None, None),
        ObservedFile("c/d.txt", 1, "ff", None),
    )
    digest = hashlib.sha256(thumbnail.encode()).hexdigest()
    assert dataset.attachments == (ObservedAttachment("att-1", "plot", digest),)


def test_separately_listed_blocks_override_includes() -> None:
    dataset = dataset_from_document(
        {"pid": "p"}, blocks=[{"id": "b9", "dataFileList": [{"path": "x", "size": 2}]}]
    )
    assert dataset.block_ids == ("b9",)
    assert dataset.files == (ObservedFile("x", 2),)
    assert dataset.attachments == ()


def test_sample_id() -> None:
    sample = sample_from_document({"sampleId": "s-1", "sampleName": "salt"})
    assert sample.sample_id == "s-1"
    assert sample.fields["sampleName"] == "salt"
