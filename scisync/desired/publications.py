"""The SciCat PublishedData body scisync wants for each ``published_data`` entry."""

from __future__ import annotations

from scisync._util.jsontypes import Json, JsonObject
from scisync.desired.ids import MARKER_FIELD, canonical_digest, make_marker
from scisync.desired.model import DesiredPublication, reference_value
from scisync.manifest.model import Manifest, PublicationSpec


def desired_publications(manifest: Manifest) -> tuple[DesiredPublication, ...]:
    return tuple(_desired(manifest.project, spec) for spec in manifest.published_data)


def _desired(project: str, spec: PublicationSpec) -> DesiredPublication:
    marker = make_marker(project, spec.key)
    metadata: JsonObject = {**spec.metadata, MARKER_FIELD: marker}
    pids: list[Json] = [reference_value(ref, "dataset") for ref in spec.datasets]
    body: JsonObject = {
        "title": spec.title,
        "abstract": spec.abstract,
        "datasetPids": pids,
        "metadata": metadata,
    }
    return DesiredPublication(
        spec=spec, marker=marker, body=body, fields_digest=canonical_digest(body)
    )
