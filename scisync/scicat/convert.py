"""SciCat documents -> observed dataclasses (pure functions, no I/O).

A v4 dataset fetched with ``include=["origdatablocks", "attachments"]`` carries its blocks
and attachments inline; they are flattened here into :class:`ObservedFile` and
:class:`ObservedAttachment`, and removed from ``fields`` so the planner diffs only the
dataset's own fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from scisync._util.jsontypes import Json, JsonObject
from scisync.observe.model import ObservedAttachment, ObservedDataset, ObservedFile, ObservedSample

INCLUDED_RELATIONS = ("origdatablocks", "attachments")


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
    """Every ``dataFileList`` entry of every block, in block order."""
    files: list[ObservedFile] = []
    for block in blocks:
        block_alg = block.get("chkAlg")
        alg = normalise_chk_alg(block_alg if isinstance(block_alg, str) else None)
        entries = block.get("dataFileList")
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            path = entry.get("path")
            size = entry.get("size")
            chk = entry.get("chk")
            if not isinstance(path, str):
                continue
            files.append(
                ObservedFile(
                    path=path,
                    size=int(size) if isinstance(size, int | float) else 0,
                    chk=chk if isinstance(chk, str) and chk else None,
                    chk_alg=alg if isinstance(chk, str) and chk else None,
                )
            )
    return tuple(files)


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
    return ObservedDataset(
        pid=pid,
        fields=fields,
        files=files_from_blocks(block_docs),
        block_ids=tuple(bid for bid in (block_id(block) for block in block_docs) if bid),
        attachments=tuple(attachment_from_document(doc) for doc in attachment_docs),
    )


def sample_from_document(document: Mapping[str, Json]) -> ObservedSample:
    sample_id = document_id(document, "sampleId", "_id", "id") or ""
    return ObservedSample(sample_id=sample_id, fields=dict(document))
