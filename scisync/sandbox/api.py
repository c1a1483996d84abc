"""All SciCat endpoints of the sandbox, as one object the router binds to."""

from __future__ import annotations

from scisync.sandbox.endpoints.attachments import AttachmentEndpoints
from scisync.sandbox.endpoints.datasets import DatasetEndpoints
from scisync.sandbox.endpoints.login import LoginEndpoints
from scisync.sandbox.endpoints.origdatablocks import BlockEndpoints
from scisync.sandbox.endpoints.published_data import PublishedDataEndpoints
from scisync.sandbox.endpoints.samples import SampleEndpoints


class Api(
    LoginEndpoints,
    DatasetEndpoints,
    BlockEndpoints,
    AttachmentEndpoints,
    SampleEndpoints,
    PublishedDataEndpoints,
):
    """Endpoint handlers over one store (see the modules in ``scisync.sandbox.endpoints``)."""
