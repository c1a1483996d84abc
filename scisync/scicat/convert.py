"""SciCat documents -> observed dataclasses (pure functions, no I/O).

This is where catalogue records enter scisync, so every record is checked here, by the
rules of :mod:`scisync.scicat.records`: a malformed file entry is left out of
``files`` and described in the dataset's ``problems``, which the planner reports as an
error for that dataset before anything is written.

A v4 dataset fetched with ``include=["origdatablocks", "attachments"]`` carries its blocks
and attachments inline; they are flattened here into :class:`ObservedFile` and
:class:`ObservedAttachment`, and removed from ``fields`` so the planner diffs only the
dataset's own fields.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from scisync._util.jsontypes import Json, JsonObject
from scisync.observe.model import (
    ObservedAttachment,
    ObservedDataset,
    ObservedFile,
    ObservedFiles,
    ObservedSample,
)
from scisync.scicat.records import (
    checksum_algorithm,
    document_problems,
    file_entry,
    json_type,
    path_clashes,
)

INCLUDED_RELATIONS = ("origdatablocks", "attachments")
# What a block summary holds (a SciCat include scope's ``fields``, honoured since backend
# v4.24): everything the settled rule reads of a block, without its dataFileList.
BLOCK_SUMMARY_FIELDS = ("_id", "updatedAt", "size", "chkAlg")


def normalise_chk_alg(name: str | None) -> str | None:
    """``"SHA-256"`` -> ``"sha256"``, ``"BLAKE3"`` -> ``"blake3"``; empty -> None."""
    if name is None:
        return None
    cleaned = name.strip().lower().replace("-", "")
    return cleaned or None


def thumbnail_digest(thumbnail: Json) -> str:
    """The sha256 hex digest of a thumbnail string (an empty string when there is none)."""
    text = thumbnail if isinstance(thumbnail, str) else ""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_id(document: Mapping[str, Json], *keys: str) -> str | None:
    """The first string id among ``keys`` (SciCat spells ids ``_id``, ``id``, ``aid``...)."""
    for key in keys:
        value = document.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def block_id(block: Mapping[str, Json]) -> str | None:
    return document_id(block, "_id", "id")


def attachment_id(attachment: Mapping[str, Json]) -> str | None:
    return document_id(attachment, "aid", "_id", "id")


def files_from_blocks(blocks: Iterable[Mapping[str, Json]]) -> tuple[ObservedFile, ...]:
    """Every well-formed ``dataFileList`` entry of every block, in block order."""
    return _checked_files(list(blocks)).files


@dataclass
class _Checked:
    files: tuple[ObservedFile, ...]
    problems: tuple[str, ...]


def _checked_files(blocks: Sequence[Mapping[str, Json]]) -> _Checked:
    """The files of ``blocks`` that pass :mod:`scisync.scicat.records`, and why others fail."""
    files: list[ObservedFile] = []
    problems: list[str] = []
    for number, block in enumerate(blocks, start=1):
        name = f"origdatablock {block_id(block) or number}"
        alg, alg_problem = checksum_algorithm(block.get("chkAlg"))
        if alg_problem is not None:
            problems.append(f"{name}: {alg_problem}")
            continue
        entries = block.get("dataFileList")
        if not isinstance(entries, list):
            problems.append(f"{name}: dataFileList is {json_type(entries)}, not a list")
            continue
        for entry in entries:
            file, problem = file_entry(entry, alg)
            if problem is not None:
                problems.append(f"{name}: {problem}")
            elif file is not None:
                files.append(file)
    problems.extend(path_clashes([file.path for file in files]))
    return _Checked(tuple(files), tuple(problems))


def attachment_from_document(attachment: Mapping[str, Json]) -> ObservedAttachment:
    caption = attachment.get("caption")
    return ObservedAttachment(
        id=attachment_id(attachment) or "",
        caption=caption if isinstance(caption, str) else "",
        thumbnail_sha256=thumbnail_digest(attachment.get("thumbnail")),
    )


def _objects(value: Json) -> list[JsonObject]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def dataset_from_document(
    document: Mapping[str, Json],
    *,
    blocks: Iterable[Mapping[str, Json]] | None = None,
    attachments: Iterable[Mapping[str, Json]] | None = None,
) -> ObservedDataset:
    """An ObservedDataset from a v4 dataset document.

    Blocks and attachments come from the document's included relations unless given
    explicitly (when they were listed separately).
    """
    pid = document.get("pid")
    if not isinstance(pid, str) or not pid:
        pid = document_id(document, "_id") or ""
    block_docs = list(blocks) if blocks is not None else _objects(document.get("origdatablocks"))
    attachment_docs = (
        list(attachments) if attachments is not None else _objects(document.get("attachments"))
    )
    fields = {key: value for key, value in document.items() if key not in INCLUDED_RELATIONS}
    checked = _checked_files(block_docs)
    problems = [*document_problems(document, blocks is None), *checked.problems]
    return ObservedDataset(
        pid=pid,
        fields=fields,
        files=ObservedFiles(checked.files),
        problems=tuple(problems),
        block_ids=tuple(bid for bid in (block_id(block) for block in block_docs) if bid),
        block_stamps=tuple(_block_stamp(block) for block in block_docs),
        attachments=tuple(attachment_from_document(doc) for doc in attachment_docs),
    )


def dataset_summary_from_document(document: Mapping[str, Json]) -> ObservedDataset:
    """An ObservedDataset from a v4 dataset document whose blocks are summaries
    (:data:`BLOCK_SUMMARY_FIELDS`): ``files_listed`` is False and ``files`` empty.

    The checks that need no file list run here (the document, each block's shape and
    checksum algorithm); a block returned whole is read as a summary too.  The block
    stamps are the ones :func:`dataset_from_document` makes of the whole blocks."""
    pid = document.get("pid")
    if not isinstance(pid, str) or not pid:
        pid = document_id(document, "_id") or ""
    block_docs = _objects(document.get("origdatablocks"))
    problems = document_problems(document, True)
    for number, block in enumerate(block_docs, start=1):
        _, alg_problem = checksum_algorithm(block.get("chkAlg"))
        if alg_problem is not None:
            problems.append(f"origdatablock {block_id(block) or number}: {alg_problem}")
    fields = {key: value for key, value in document.items() if key not in INCLUDED_RELATIONS}
    return ObservedDataset(
        pid=pid,
        fields=fields,
        problems=tuple(problems),
        block_ids=tuple(bid for bid in (block_id(block) for block in block_docs) if bid),
        block_stamps=tuple(_block_stamp(block) for block in block_docs),
        attachments=tuple(map(attachment_from_document, _objects(document.get("attachments")))),
        files_listed=False,
    )


def _block_stamp(block: Mapping[str, Json]) -> str:
    """A block's id, ``updatedAt`` and ``size``: SciCat stamps a block on every write
    (its file list included), so this moves whenever an entry does.  No file count: a
    summary (a projection without the dataFileList) must give the same stamp."""
    return json.dumps([block_id(block), block.get("updatedAt"), block.get("size")])


def sample_from_document(document: Mapping[str, Json]) -> ObservedSample:
    sample_id = document_id(document, "sampleId", "_id", "id") or ""
    return ObservedSample(sample_id=sample_id, fields=dict(document))
