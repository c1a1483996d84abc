"""What the applier needs from SciCat, as a Protocol (the real client satisfies it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from scisync.jsontypes import JsonObject
from scisync.observed import ObservedDataset


class Catalog(Protocol):
    """Writes to and targeted reads from SciCat.  ``context`` names the manifest entry
    (e.g. ``dataset raw-run-1``) so errors say which one failed."""

    def create_dataset(self, body: JsonObject, *, context: str) -> JsonObject: ...

    def patch_dataset(self, pid: str, changes: JsonObject, *, context: str) -> JsonObject: ...

    def get_dataset(self, pid: str, *, context: str) -> ObservedDataset | None: ...

    def find_datasets_by_markers(
        self, markers: Sequence[str]
    ) -> Mapping[str, Sequence[ObservedDataset]]: ...

    def create_origdatablock(self, body: JsonObject, *, context: str) -> JsonObject: ...

    def create_attachment(self, body: JsonObject, *, context: str) -> JsonObject: ...

    def patch_attachment(self, aid: str, changes: JsonObject, *, context: str) -> JsonObject: ...

    def get_sample(self, sample_id: str, *, context: str) -> JsonObject | None: ...

    def create_sample(self, body: JsonObject, *, context: str) -> JsonObject: ...

    def patch_sample(self, sample_id: str, changes: JsonObject, *, context: str) -> JsonObject: ...
