"""The direct writer (scisync.lock.emit) gives the bytes of the generic json-based writer
it replaced, kept here as the reference: lockfiles written before read back and write
out identically."""

from __future__ import annotations

import json

import pytest

from scisync._util.jsontypes import Json, JsonObject
from scisync.lock.io import canonical_lock, dumps_lock, loads_lock
from scisync.lock.model import (
    LockedDataset,
    LockedDownload,
    LockedFile,
    LockedPublication,
    Lockfile,
)
from tests.lock.lock_samples import random_lock, small_lock


def reference_text(lock: Lockfile) -> str:
    """The canonical text as the writer before issue 13 made it, from JSON data."""
    canonical = canonical_lock(lock)
    data: JsonObject = {
        "version": lock.version,
        "project": lock.project,
        "datasets": {
            key: {
                "pid": e.pid,
                "fields_digest": e.fields_digest,
                "files": [_file(f) for f in e.files],
                "attachments": [
                    {"caption": a.caption, "id": a.id, "blake3": a.blake3} for a in e.attachments
                ],
                "supersedes": list(e.supersedes),
            }
            for key, e in canonical.datasets.items()
        },
        "samples": {
            key: {"sample_id": e.sample_id, "fields_digest": e.fields_digest}
            for key, e in canonical.samples.items()
        },
        "downloads": {
            key: {"pid": e.pid, "files": [_file(f) for f in e.files]}
            for key, e in canonical.downloads.items()
        },
    }
    if canonical.publications:
        data["publications"] = {
            key: {"doi": e.doi, "status": e.status, "fields_digest": e.fields_digest}
            for key, e in canonical.publications.items()
        }
    return _emit(data, 0) + "\n"


def _file(file: LockedFile) -> JsonObject:
    data: JsonObject = {"path": file.path, "size": file.size, "blake3": file.blake3}
    if file.checksum is not None:
        data["checksum"] = file.checksum
    return data


def _emit(value: Json, depth: int) -> str:
    indent = "  " * (depth + 1)
    closing = "  " * depth
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = [
            f"{indent}{_compact(key)}: {_emit(value[key], depth + 1)}" for key in sorted(value)
        ]
        return "{\n" + ",\n".join(lines) + "\n" + closing + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = ",\n".join(f"{indent}{_compact(item, sort_keys=False)}" for item in value)
        return "[\n" + items + "\n" + closing + "]"
    return _compact(value)


def _compact(value: Json, *, sort_keys: bool = True) -> str:
    return json.dumps(value, sort_keys=sort_keys, ensure_ascii=False, separators=(", ", ": "))


@pytest.mark.parametrize("seed", range(300))
def test_the_bytes_are_those_of_the_reference_writer(seed: int) -> None:
    lock = random_lock(seed)
    assert dumps_lock(lock) == reference_text(lock)


ODD = ['q"uote.dat', "ünï/cödé.dat", "日本/データ.dat", "emoji-🙂.dat", "sp ace.dat"]
# Checksums are SciCat's text: anything JSON must escape may be in one.
ODD_CHECKSUMS = ['md5:"q"', "md5:back\\slash", "md5:tab\t", "md5:a\u2028b", "md5:del\x7f", "md5:ü"]


def test_strings_that_need_escapes_are_written_like_json_writes_them() -> None:
    files = tuple(
        LockedFile(path, n, "ab" * (n + 1), checksum=None if n % 2 else ODD_CHECKSUMS[n])
        for n, path in enumerate(ODD)
    ) + tuple(
        LockedFile(f"c{n}.dat", n, "cd", checksum=checksum)
        for n, checksum in enumerate(ODD_CHECKSUMS)
    )
    lock = Lockfile(
        project='pro"ject ü',
        datasets={
            'k"1': LockedDataset(key='k"1', pid="p\\1", fields_digest="d\n", files=files),
            "all-plain": LockedDataset(
                key="all-plain",
                pid="p2",
                fields_digest="d",
                files=(LockedFile("a", 1, "ab", "sha256:x"), LockedFile("b", 2, "cd", "md5:y")),
            ),
        },
        downloads={"dl": LockedDownload(key="dl", pid="p3", files=files[:3])},
        publications={
            "pub": LockedPublication(key="pub", doi="10.1/x", status="public", fields_digest="f")
        },
    )
    text = dumps_lock(lock)
    assert text == reference_text(lock)
    loaded = loads_lock(text, "scisync.lock")
    assert dumps_lock(loaded) == text
    assert loaded == canonical_lock(lock)


def test_a_lockfile_written_before_reads_back_identically() -> None:
    text = reference_text(small_lock())
    loaded = loads_lock(text, "scisync.lock")
    assert loaded == canonical_lock(small_lock())
    assert dumps_lock(loaded) == text
