"""What the dataset and sample pages show, gathered under the API's read rules.

A visitor sees a record when the API's GET would let them (``Access.can_read``), and the
same check filters its files, attachments, sample and linked datasets.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scisync.sandbox.access import Access
from scisync.sandbox.auth import Caller
from scisync.sandbox.store import Store
from scisync.sandbox.web.lineage import LineageDrawing, LineageNode, draw

DATASETS = "datasets"
BLOCKS = "origdatablocks"
ATTACHMENTS = "attachments"
SAMPLES = "samples"
MAX_FILES = 1000  # files listed on a dataset page; the rest are counted
MAX_LINKED = 200  # derived datasets (or a sample's datasets) listed
# images an attachment may carry; SVG is left out: it can hold scripts
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# fields shown in their own sections rather than in the field list
_SECTIONED = frozenset(
    {"scientificMetadata", "sampleCharacteristics", "inputDatasets", "sampleIds", "history"}
)


def dataset_href(pid: str) -> str:
    return "/datasets/" + quote(pid, safe="")


def sample_href(sample_id: str) -> str:
    return "/samples/" + quote(sample_id, safe="")


@dataclass(frozen=True)
class Quantity:
    name: str
    value: str
    unit: str
    si: str  # "valueSI unitSI" when the sandbox derived one, else ""


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    checksum: str
    time: str


@dataclass(frozen=True)
class Link:
    label: str
    href: str | None  # None: the visitor may not read it


@dataclass(frozen=True)
class AttachmentView:
    caption: str
    href: str


@dataclass(frozen=True)
class DatasetView:
    pid: str
    name: str
    fields: tuple[tuple[str, str], ...]
    metadata: tuple[Quantity, ...]
    files: tuple[FileEntry, ...]
    files_total: int
    attachments: tuple[AttachmentView, ...]
    samples: tuple[Link, ...]
    inputs: tuple[Link, ...]
    derived: tuple[Link, ...]
    lineage: LineageDrawing


@dataclass(frozen=True)
class SampleView:
    sample_id: str
    name: str
    fields: tuple[tuple[str, str], ...]
    characteristics: tuple[Quantity, ...]
    datasets: tuple[Link, ...]


def shown(value: Any) -> str:
    """A field's value as text: strings as they are, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _fields(doc: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (key, shown(doc[key])) for key in sorted(doc) if key not in _SECTIONED and key != "_id"
    )


def quantities(metadata: Any) -> tuple[Quantity, ...]:
    if not isinstance(metadata, dict):
        return ()
    out = []
    for name in sorted(metadata):
        item = metadata[name]
        if isinstance(item, dict) and "value" in item:
            si = ""
            if "valueSI" in item and item.get("unitSI") != item.get("unit"):
                si = f"{shown(item['valueSI'])} {shown(item.get('unitSI', ''))}".strip()
            out.append(Quantity(name, shown(item["value"]), shown(item.get("unit", "")), si))
        else:
            out.append(Quantity(name, shown(item), "", ""))
    return tuple(out)


class Views:
    """Builds page data for one visitor."""

    def __init__(self, store: Store, access: Access) -> None:
        self.store = store
        self.access = access

    def readable(self, caller: Caller, collection: str, key: str) -> dict[str, Any] | None:
        doc = self.store.get(collection, key)
        if doc is None or not self.access.can_read(caller, doc):
            return None
        return doc

    def links(self, caller: Caller, collection: str, keys: list[str]) -> tuple[Link, ...]:
        found = {d.get("_id", d.get("pid")): d for d in self.store.by_ids(collection, keys)}
        links = []
        for key in keys:
            doc = found.get(key)
            if doc is None or not self.access.can_read(caller, doc):
                links.append(Link(key, None))
            elif collection == SAMPLES:
                links.append(Link(str(doc.get("sampleName") or key), sample_href(key)))
            else:
                links.append(Link(str(doc.get("datasetName") or key), dataset_href(key)))
        return tuple(links)

    def _referring(self, caller: Caller, field: str, key: str) -> tuple[Link, ...]:
        """Readable datasets whose list *field* holds *key* (derived ones, a sample's)."""
        links = []
        for doc in self.store.referring(DATASETS, key):
            values = doc.get(field)
            if isinstance(values, list) and key in values and self.access.can_read(caller, doc):
                links.append(
                    Link(str(doc.get("datasetName") or doc["pid"]), dataset_href(doc["pid"]))
                )
                if len(links) >= MAX_LINKED:
                    break
        return tuple(links)

    def _files(self, caller: Caller, pid: str) -> tuple[tuple[FileEntry, ...], int]:
        files: list[FileEntry] = []
        total = 0
        for block in self.store.by_refs(BLOCKS, [pid]):
            if block.get("datasetId") != pid or not self.access.can_read(caller, block):
                continue
            for item in block.get("dataFileList") or []:
                total += 1
                if len(files) < MAX_FILES:
                    files.append(
                        FileEntry(
                            path=str(item.get("path", "")),
                            size=int(item.get("size") or 0),
                            checksum=str(item.get("chk") or ""),
                            time=str(item.get("time") or ""),
                        )
                    )
        return tuple(files), total

    def _attachments(self, caller: Caller, pid: str) -> tuple[AttachmentView, ...]:
        out = []
        for doc in self.store.by_refs(ATTACHMENTS, [pid]):
            targets = [r.get("targetId") for r in doc.get("relationships") or []]
            if pid in targets and self.access.can_read(caller, doc):
                out.append(
                    AttachmentView(
                        caption=str(doc.get("caption") or ""),
                        href="/attachments/" + quote(str(doc["_id"]), safe=""),
                    )
                )
        return tuple(out)

    def dataset(self, caller: Caller, pid: str) -> DatasetView | None:
        doc = self.readable(caller, DATASETS, pid)
        if doc is None:
            return None
        name = str(doc.get("datasetName") or pid)
        samples = self.links(caller, SAMPLES, [str(s) for s in doc.get("sampleIds") or []])
        inputs = self.links(caller, DATASETS, [str(p) for p in doc.get("inputDatasets") or []])
        derived = self._referring(caller, "inputDatasets", pid)
        files, files_total = self._files(caller, pid)
        upstream = [LineageNode("sample", s.label, s.href) for s in samples]
        upstream += [LineageNode("input", i.label, i.href) for i in inputs]
        downstream = [LineageNode("derived", d.label, d.href) for d in derived]
        return DatasetView(
            pid=pid,
            name=name,
            fields=_fields(doc),
            metadata=quantities(doc.get("scientificMetadata")),
            files=files,
            files_total=files_total,
            attachments=self._attachments(caller, pid),
            samples=samples,
            inputs=inputs,
            derived=derived,
            lineage=draw(upstream, LineageNode("this", name, None), downstream),
        )

    def sample(self, caller: Caller, sample_id: str) -> SampleView | None:
        doc = self.readable(caller, SAMPLES, sample_id)
        if doc is None:
            return None
        return SampleView(
            sample_id=sample_id,
            name=str(doc.get("sampleName") or sample_id),
            fields=_fields(doc),
            characteristics=quantities(doc.get("sampleCharacteristics")),
            datasets=self._referring(caller, "sampleIds", sample_id),
        )

    def attachment_image(self, caller: Caller, attachment_id: str) -> tuple[str, bytes] | None:
        """``(media type, bytes)`` of an attachment's ``data:`` URL thumbnail, if an image."""
        doc = self.readable(caller, ATTACHMENTS, attachment_id)
        thumbnail = doc.get("thumbnail") if doc else None
        if not isinstance(thumbnail, str) or not thumbnail.startswith("data:"):
            return None
        header, _, data = thumbnail[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if media_type.lower() not in IMAGE_TYPES or encoding.lower() != "base64":
            return None
        try:
            return media_type.lower(), base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
