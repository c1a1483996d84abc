"""SciCat PublishedData records (v4 ``/publisheddata``) as typed, frozen values.

The backend's lifecycle (``src/published-data/published-data.v4.controller.ts``):
``private`` on create -> ``public`` (publish) -> ``registered`` (register: the DOI is
registered with DataCite) -> ``amended`` (amend, admins only).  Content changes
(``PATCH``, resync) are refused once a record is registered or amended, and for
non-admins once it is no longer private.  The DOI is assigned by SciCat at creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

from scisync._util.jsontypes import Json, JsonObject
from scisync.errors import ApiError

PublishedStatus = Literal["private", "public", "registered", "amended"]
STATUSES: tuple[PublishedStatus, ...] = ("private", "public", "registered", "amended")
REGISTERED_STATUSES: frozenset[PublishedStatus] = frozenset({"registered", "amended"})

PUBLISHED_DATA_FIELDS = frozenset(
    {"title", "abstract", "datasetPids", "registeredTime", "status", "metadata"}
)
"""What create and update bodies may hold (``UpdatePublishedDataV4Dto``); SciCat answers
400 to anything else.  ``title``, ``abstract`` and ``datasetPids`` are required on create."""


@dataclass(frozen=True)
class PublishedDataRecord:
    """One PublishedData record as SciCat returns it."""

    doi: str
    title: str
    abstract: str
    dataset_pids: tuple[str, ...]
    status: PublishedStatus
    metadata: Mapping[str, Json]
    registered_time: str | None
    fields: Mapping[str, Json]  # the whole document, camelCase

    @property
    def is_registered(self) -> bool:
        """Registered (or amended): its content can no longer change through SciCat."""
        return self.status in REGISTERED_STATUSES


def published_from_document(
    document: JsonObject, context: str | None = None
) -> PublishedDataRecord:
    """Parse a PublishedData document; a malformed one is an ApiError naming the field."""
    doi = document.get("doi")
    status = document.get("status", "private")
    pids = document.get("datasetPids")
    metadata = document.get("metadata") or {}
    registered = document.get("registeredTime")
    problem = None
    if not isinstance(doi, str) or not doi:
        problem = "no doi"
    elif status not in STATUSES:
        problem = f"an unknown status {status!r}"
    elif not isinstance(pids, list) or not all(isinstance(p, str) for p in pids):
        problem = "a datasetPids that is not a list of strings"
    elif not isinstance(metadata, dict):
        problem = "a metadata that is not an object"
    if problem is not None:
        raise ApiError(
            f"SciCat returned a published-data record with {problem}",
            where=context or "SciCat published data",
            hint="check that the URL points at a SciCat API of version 4.x or later",
        )
    assert isinstance(doi, str) and isinstance(pids, list) and isinstance(metadata, dict)
    return PublishedDataRecord(
        doi=doi,
        title=str(document.get("title") or ""),
        abstract=str(document.get("abstract") or ""),
        dataset_pids=tuple(str(p) for p in pids),
        status=cast(PublishedStatus, status),
        metadata=dict(metadata),
        registered_time=registered if isinstance(registered, str) else None,
        fields=dict(document),
    )
