"""The desired state built from a manifest and the local files: bodies, references,
markers, deterministic ids and digests."""

from __future__ import annotations

from pathlib import Path

import blake3
import pytest

from scisync._util.hashing import CachedHasher
from scisync.desired.build import build_desired
from scisync.desired.ids import MARKER_FIELD, attachment_id, derived_sample_id, make_marker
from scisync.desired.model import DesiredState
from scisync.manifest import load_manifest
from tests.apply.project import write_project


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    write_project(root, "http://127.0.0.1:9/api/v3", tmp_path / "store")
    return root


def _build(root: Path) -> DesiredState:
    manifest = load_manifest([root / "scisync.yaml"])
    return build_desired(manifest, CachedHasher(root / ".scisync" / "hashcache.sqlite"))


def test_bodies_carry_the_marker_and_refer_to_other_entries_by_address(root: Path) -> None:
    desired = _build(root)
    datasets = {d.key: d for d in desired.datasets}
    raw = datasets["raw-1"]
    assert raw.marker == make_marker("apply-test", "raw-1") == "apply-test/raw-1"
    assert raw.body["scientificMetadata"] == {MARKER_FIELD: "apply-test/raw-1"}
    assert raw.body["sampleIds"] == [{"$ref": "sample.crystal"}]
    assert datasets["reduced-2"].body["inputDatasets"] == [{"$ref": "dataset.raw-2"}]
    (sample,) = desired.samples
    assert sample.sample_id == derived_sample_id("apply-test", "crystal")


def test_files_are_listed_with_their_blake3(root: Path) -> None:
    raw = next(d for d in _build(root).datasets if d.key == "raw-3")
    assert [f.relative for f in raw.files] == ["frame-1.dat", "frame-2.dat", "frame-3.dat"]
    content = (root / "runs" / "run-3" / "frame-2.dat").read_bytes()
    assert raw.files[1].blake3 == blake3.blake3(content).hexdigest()
    assert raw.files[1].size == len(content)


def test_the_same_inputs_build_the_same_state_and_a_field_edit_moves_one_digest(
    root: Path,
) -> None:
    first, again = _build(root), _build(root)
    assert first == again
    manifest = root / "scisync.yaml"
    manifest.write_text(manifest.read_text().replace("Raw run 2", "Raw run two"))
    edited = {d.key: d.fields_digest for d in _build(root).datasets}
    before = {d.key: d.fields_digest for d in first.datasets}
    assert [key for key in before if before[key] != edited[key]] == ["raw-2"]


def test_attachment_ids_are_stable_per_dataset_and_caption() -> None:
    one = attachment_id("pid/1", "Intensity")
    assert one == attachment_id("pid/1", "Intensity")
    assert len({one, attachment_id("pid/2", "Intensity"), attachment_id("pid/1", "Other")}) == 3
