"""Small builders for planner tests: desired, observed and recorded state by hand."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from scisync._util.jsontypes import Json, JsonObject
from scisync.desired.ids import MARKER_FIELD, canonical_digest, make_marker
from scisync.desired.model import (
    DesiredDataset,
    DesiredDownload,
    DesiredSample,
    DesiredState,
    LocalFile,
    reference_value,
)
from scisync.lock.model import LockedDataset, LockedFile, Lockfile
from scisync.manifest.model import (
    DatasetSpec,
    FileSelection,
    FilesPolicy,
    KeyRef,
    Reference,
    SampleSpec,
)
from scisync.observe.model import ObservedDataset, ObservedFile, ObservedState
from scisync.plan.model import Fingerprint
from scisync.storage.base import Checksum
from scisync.storage.roots import Roots

PROJECT = "demo"
FINGERPRINT = Fingerprint(manifest="m", lockfile="l", observed="o")


def local_file(relative: str, content: str = "x") -> LocalFile:
    digest = canonical_digest(content)
    return LocalFile(
        relative=relative,
        local=f"/data/{relative}",
        size=len(content),
        blake3="b3" + digest[:20],
        checksum=Checksum("sha256", digest),
    )


def dataset(
    key: str,
    *,
    files: tuple[LocalFile, ...] = (),
    description: str = "about",
    inputs: tuple[Reference, ...] = (),
    sample: Reference | None = None,
    policy: FilesPolicy = FilesPolicy.REFUSE,
    append: bool = False,
    dataset_type: str = "raw",
    metadata: JsonObject | None = None,
    fields: JsonObject | None = None,
) -> DesiredDataset:
    spec = DatasetSpec(
        key=key,
        type=dataset_type,
        fields={
            "datasetName": key,
            "ownerGroup": "g1",
            "description": description,
            **(fields or {}),
        },
        scientific_metadata=metadata
        if metadata is not None
        else {"temperature": {"value": 4, "unit": "K"}},
        source_folder=None,
        files=(FileSelection(base=Path("/data"), include=("*",)),) if files else (),
        attachments=(),
        sample=sample,
        input_datasets=inputs,
        on_files_changed=policy,
        append_files=append,
    )
    marker = make_marker(PROJECT, key)
    body: JsonObject = dict(spec.fields)
    body["type"] = dataset_type
    body["sourceFolder"] = f"/store/{key}"
    body["scientificMetadata"] = {**spec.scientific_metadata, MARKER_FIELD: marker}
    if inputs:
        body["inputDatasets"] = [reference_value(ref, "dataset") for ref in inputs]
    if sample is not None:
        body["sampleIds"] = [reference_value(sample, "sample")]
    managed = {k: v for k, v in body.items() if k != "sourceFolder"}
    return DesiredDataset(
        spec=spec,
        marker=marker,
        files=files,
        attachments=(),
        body=body,
        fields_digest=canonical_digest(managed),
        source_folder=PurePosixPath(f"/store/{key}"),
    )


def sample(key: str, name: str = "crystal") -> DesiredSample:
    body: JsonObject = {
        "sampleName": name,
        "ownerGroup": "g1",
        "sampleId": f"id-{key}",
        "isPublished": False,
    }
    return DesiredSample(
        spec=SampleSpec(key=key, sample_id=f"id-{key}", fields=body),
        sample_id=f"id-{key}",
        body=body,
        fields_digest=canonical_digest(body),
    )


def state(
    datasets: tuple[DesiredDataset, ...] = (),
    samples: tuple[DesiredSample, ...] = (),
    downloads: tuple[DesiredDownload, ...] = (),
) -> DesiredState:
    return DesiredState(
        project=PROJECT,
        manifest_digest="d",
        datasets=datasets,
        samples=samples,
        downloads=downloads,
        roots=Roots(writable=(PurePosixPath("/store"),), read_only=(PurePosixPath("/data"),)),
    )


def observed_from(desired: DesiredDataset, pid: str, **overrides: object) -> ObservedDataset:
    """What SciCat would return after scisync created *desired* (server fields added)."""
    fields: JsonObject = dict(desired.body)
    for ref_field in ("inputDatasets", "sampleIds"):
        fields.pop(ref_field, None)
    fields["scientificMetadata"] = _with_si(fields["scientificMetadata"])
    fields.update({"pid": pid, "createdAt": "2026-01-01T00:00:00.000Z", "size": 1})
    fields.update(overrides)  # type: ignore[arg-type]
    files = tuple(
        ObservedFile(f.relative, f.size, f.checksum.value, f.checksum.algorithm)
        for f in desired.files
    )
    return ObservedDataset(pid=pid, fields=fields, files=files)


def _with_si(value: Json) -> Json:
    """Quantities as SciCat stores them: with the valueSI/unitSI it derives."""
    if isinstance(value, dict):
        if set(value) == {"value", "unit"}:
            return {**value, "valueSI": value["value"], "unitSI": value["unit"]}
        return {name: _with_si(item) for name, item in value.items()}
    return value


def observed(*datasets: ObservedDataset) -> ObservedState:
    by_marker: dict[str, tuple[ObservedDataset, ...]] = {}
    for found in datasets:
        assert found.marker is not None
        by_marker[found.marker] = (*by_marker.get(found.marker, ()), found)
    return ObservedState(by_marker=by_marker, by_pid={d.pid: d for d in datasets})


def locked(desired: DesiredDataset, pid: str, digest: str | None = None) -> LockedDataset:
    return LockedDataset(
        key=desired.key,
        pid=pid,
        fields_digest=digest or desired.fields_digest,
        files=tuple(
            LockedFile(f.relative, f.size, f.blake3, str(f.checksum)) for f in desired.files
        ),
    )


def lockfile(*entries: LockedDataset) -> Lockfile:
    return Lockfile(project=PROJECT, datasets={e.key: e for e in entries})


__all__ = ["KeyRef"]
