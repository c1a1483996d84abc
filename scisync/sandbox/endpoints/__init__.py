"""The SciCat endpoint groups; :class:`scisync.sandbox.api.Api` combines them."""
