"""Everything that talks to SciCat: the HTTP client, conversion to observed state, auth."""

from scisync.scicat.client import ScicatClient

__all__ = ["ScicatClient"]
