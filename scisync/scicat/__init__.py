"""Everything that talks to SciCat: the HTTP client, conversion to observed state, auth,
dataset queries and published-data records."""

from scisync.scicat.client import ScicatClient
from scisync.scicat.published import PublishedDataRecord
from scisync.scicat.query import DatasetQuery, MetadataCondition

__all__ = ["DatasetQuery", "MetadataCondition", "PublishedDataRecord", "ScicatClient"]
