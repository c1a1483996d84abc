"""What the observe step reads SciCat through: batched, read-only Protocols.

:class:`scisync.scicat.client.ScicatClient` satisfies them; a test may pass anything that
speaks the same methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from scisync.observe.model import ObservedDataset, ObservedSample


class CatalogReader(Protocol):
    """Batched, read-only lookups (the observe step)."""

    def find_datasets_by_markers(
        self, markers: Sequence[str], *, context: str | None = None
    ) -> Mapping[str, Sequence[ObservedDataset]]: ...

    def get_datasets(
        self, pids: Sequence[str], *, context: str | None = None
    ) -> Mapping[str, ObservedDataset]: ...

    def get_samples(
        self, sample_ids: Sequence[str], *, context: str | None = None
    ) -> Mapping[str, ObservedSample]: ...
