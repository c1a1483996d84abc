"""The ``published_data:`` section: each entry becomes a :class:`PublicationSpec`.

``title`` and ``abstract`` are fields of the SciCat record; the other named fields and
the free ``metadata`` mapping make up its ``metadata`` object (DataCite names).  A free
metadata key that a named field sets, or that scisync reserves, is an error here, so
one value never silently wins over another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scisync._util.jsontypes import Json
from scisync.manifest.fields import PUBLICATION_FIELDS_BY_NAME
from scisync.manifest.model import KeyRef, PidRef, PublicationSpec, Reference
from scisync.manifest.nodes import Node, NodePath
from scisync.manifest.schema import RESERVED_PUBLICATION_METADATA

if TYPE_CHECKING:
    from scisync.manifest.construct import Builder

METADATA_PREFIX = "metadata."


def publications(builder: Builder) -> tuple[PublicationSpec, ...]:
    """Every ``published_data`` entry, problems collected in the builder."""
    return tuple(
        _publication(builder, entry, ("published_data", index))
        for index, entry in enumerate(builder.section("published_data"))
    )


def _publication(builder: Builder, entry: Node, path: NodePath) -> PublicationSpec:
    values = entry.mapping()
    key = builder.register_key("publication", values["key"], (*path, "key"))
    fields = builder.fields(entry, path, PUBLICATION_FIELDS_BY_NAME, None)
    metadata: dict[str, Json] = {
        name.removeprefix(METADATA_PREFIX): value
        for name, value in fields.items()
        if name.startswith(METADATA_PREFIX)
    }
    extra = values.get("metadata")
    if extra is not None:
        for name, node in extra.mapping().items():
            if name in RESERVED_PUBLICATION_METADATA:
                builder.add_key(
                    extra,
                    name,
                    (*path, "metadata"),
                    f"metadata key {name!r} is set by scisync or by a named field",
                    _reserved_hint(name),
                )
                continue
            metadata[name] = node.to_plain()
    register = values.get("register")
    return PublicationSpec(
        key=key,
        title=str(fields.get("title", "")),
        abstract=str(fields.get("abstract", "")),
        datasets=tuple(_dataset_ref(item) for item in values["datasets"].sequence()),
        metadata=dict(sorted(metadata.items())),
        register=bool(register.value) if register is not None else False,
        location=builder.location(entry, path),
    )


def _reserved_hint(name: str) -> str:
    named = {
        f.scicat.removeprefix(METADATA_PREFIX): f.name for f in PUBLICATION_FIELDS_BY_NAME.values()
    }
    if name in named:
        return f"set it with the entry's {named[name]!r} field and remove it from metadata"
    return "choose another name"


def _dataset_ref(node: Node) -> Reference:
    if isinstance(node.value, dict):
        return PidRef(str(node.mapping()["pid"].value))
    return KeyRef(str(node.value))
