"""Identities scisync derives: dataset markers, sample and attachment ids, digests.

Each is a pure function of its inputs, so a re-run (or another machine) derives the same
value and finds what an earlier run created instead of creating it twice.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable

from scisync._util.jsontypes import Json

MARKER_FIELD = "scisync_marker"
"""The scientificMetadata key holding ``<project>/<key>`` on every dataset scisync creates,
so scisync finds its own datasets again without the lockfile (a plain string, queryable)."""


def make_marker(project: str, key: str) -> str:
    """The marker stored on the dataset ``key`` of manifest project ``project``."""
    return f"{project}/{key}"


SCISYNC_NAMESPACE = uuid.UUID("6f0b3a52-7c1e-5b8e-9d64-3c2a1f0e9b71")
"""uuid5 namespace for the ids scisync derives (sample ids, attachment ids)."""

SUPERSEDES_FIELD = "scisync_supersedes"
"""scientificMetadata key on a replacement dataset naming the pid it supersedes."""


def canonical_digest(value: Json) -> str:
    """sha256 of a canonical JSON encoding: equal values, equal digests, on any machine."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def rows_digest(rows: Iterable[Iterable[object]]) -> str:
    """sha256 of rows of fields, NUL-separated (NUL occurs in no path, id or digest).

    For the 100,000-file parts of a plan's fingerprint, where a canonical JSON dump costs
    a noticeable share of a no-op plan.
    """
    digest = hashlib.sha256()
    for row in rows:
        digest.update("\0".join(map(str, row)).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def derived_sample_id(project: str, key: str) -> str:
    """A stable sample id, so a re-run finds the sample instead of creating it twice."""
    return str(uuid.uuid5(SCISYNC_NAMESPACE, f"sample:{project}/{key}"))


def attachment_id(pid: str, caption: str) -> str:
    """A stable attachment id per dataset and caption (attachments have no natural key)."""
    return str(uuid.uuid5(SCISYNC_NAMESPACE, f"attachment:{pid}/{caption}"))
