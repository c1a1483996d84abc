"""What the applier writes through, as Protocols.

:class:`scisync.scicat.client.ScicatClient` satisfies :class:`Catalog`; tests may pass
anything that speaks the same methods.  The read-only half lives with the stage that
uses it, :mod:`scisync.observe.ports`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from scisync._util.jsontypes import Json, JsonObject
from scisync.observe.model import ObservedDataset, ObservedSample
from scisync.observe.ports import CatalogReader
from scisync.scicat.published import PublishedDataRecord


class Catalog(CatalogReader, Protocol):
    """Writes and targeted reads (the apply step).  ``context`` names the manifest entry
    (e.g. ``dataset raw-run-1``) so an error says which one failed."""

    def get_dataset(self, pid: str, *, context: str | None = None) -> ObservedDataset | None: ...

    def create_dataset(
        self, body: Mapping[str, Json], *, context: str | None = None
    ) -> JsonObject: ...

    def patch_dataset(
        self,
        pid: str,
        changes: Mapping[str, Json],
        *,
        merge_patch: bool,
        context: str | None = None,
    ) -> JsonObject: ...

    def create_origdatablock(
        self, pid: str, body: Mapping[str, Json], *, context: str | None = None
    ) -> JsonObject: ...

    def create_attachment(
        self,
        pid: str,
        caption: str,
        thumbnail: str | None,
        aid: str | None,
        owner_group: str,
        access_groups: Sequence[str] = (),
        *,
        is_published: bool = False,
        context: str | None = None,
    ) -> JsonObject: ...

    def patch_attachment(
        self, aid: str, changes: Mapping[str, Json], *, context: str | None = None
    ) -> JsonObject: ...

    def get_sample(
        self, sample_id: str, *, context: str | None = None
    ) -> ObservedSample | None: ...

    def create_sample(
        self, body: Mapping[str, Json], *, context: str | None = None
    ) -> JsonObject: ...

    def patch_sample(
        self,
        sample_id: str,
        changes: Mapping[str, Json],
        *,
        is_published: bool,
        context: str | None = None,
    ) -> JsonObject: ...

    def create_published_data(
        self, body: Mapping[str, Json], *, context: str | None = None
    ) -> PublishedDataRecord: ...

    def get_published_data(
        self, doi: str, *, context: str | None = None
    ) -> PublishedDataRecord | None: ...

    def find_published_data_by_metadata(
        self, key: str, values: Sequence[str], *, context: str | None = None
    ) -> Mapping[str, Sequence[PublishedDataRecord]]: ...

    def update_published_data(
        self, doi: str, changes: Mapping[str, Json], *, context: str | None = None
    ) -> PublishedDataRecord: ...

    def register_published_data(
        self, doi: str, *, context: str | None = None
    ) -> PublishedDataRecord: ...
