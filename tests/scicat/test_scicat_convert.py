"""v4 documents -> observed dataclasses."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from scisync._util.jsontypes import JsonObject
from scisync.observe.model import ObservedAttachment, ObservedFile
from scisync.scicat.convert import (
    BLOCK_SUMMARY_FIELDS,
    dataset_from_document,
    dataset_summary_from_document,
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


def _with_blocks(*blocks: JsonObject) -> JsonObject:
    return {"pid": "20.500/s", "sourceFolder": "/data/s", "origdatablocks": list(blocks)}


_BLOCK: JsonObject = {
    "_id": "b1",
    "updatedAt": "2026-11-21T09:00:00.000Z",
    "size": 15,
    "chkAlg": "sha256",
    "dataFileList": [{"path": "a.h5", "size": 15, "time": "2026-11-21T09:00:00Z", "chk": "aa"}],
}


def _summary_of(block: JsonObject) -> JsonObject:
    return {name: block[name] for name in BLOCK_SUMMARY_FIELDS if name in block}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (_with_blocks(_summary_of(_BLOCK)), None),
        (_with_blocks(_BLOCK), None),  # a SciCat that ignores the scope: read as a summary
        (_with_blocks(_summary_of({**_BLOCK, "chkAlg": "x" * 300})), "origdatablock b1"),
        (_with_blocks(), None),
        ({**_with_blocks(), "origdatablocks": "none"}, "origdatablocks is"),
        ({**_with_blocks(), "origdatablocks": ["b1"]}, "an origdatablock is not an object"),
        ({**_with_blocks(), "sourceFolder": 5}, "sourceFolder"),
    ],
)
def test_a_summary_stamps_its_blocks_as_the_whole_record_does(
    document: JsonObject, problem: str | None
) -> None:
    """The settled rule compares a summary's block stamps with those recorded from whole
    records: the two must agree, and every problem found without the file lists shows."""
    summary = dataset_summary_from_document(document)
    assert not summary.files_listed and summary.files == ()
    if problem is None:
        assert summary.problems == ()
        whole = {**document, "origdatablocks": [_BLOCK] * len(summary.block_ids)}
        assert summary == replace(dataset_from_document(whole), files=(), files_listed=False)
    else:
        assert any(problem in text for text in summary.problems), summary.problems
