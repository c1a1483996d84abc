"""What the observe step reads SciCat through: batched, read-only Protocols.

:class:`scisync.scicat.client.ScicatClient` satisfies them; a test may pass anything that
speaks the same methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from scisync.manifest.model import DownloadQuery
from scisync.observe.model import ObservedDataset, ObservedPublication, ObservedSample


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

    def query_download_datasets(
        self, query: DownloadQuery, *, limit: int, context: str | None = None
    ) -> Sequence[ObservedDataset]:
        """The datasets ``query`` selects (run in SciCat, in batches), with their files,
        sorted by pid; more than ``limit`` is a :class:`~scisync.errors.QueryLimitError`."""
        ...

    def find_publications_by_markers(
        self, markers: Sequence[str], *, context: str | None = None
    ) -> Mapping[str, Sequence[ObservedPublication]]:
        """PublishedData records carrying each marker in ``metadata`` (batched)."""
        ...
