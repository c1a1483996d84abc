"""build: the typed model, snake -> camel, paths, defaults, merge, digest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from scisync.manifest import (
    FilesPolicy,
    KeyRef,
    LocalStorageConfig,
    PidRef,
    SftpStorageConfig,
)
from tests.manifest.manifest_helpers import BASE, RAW, load, problems_of

DERIVED = """\
  - key: reduced-1
    type: derived
    owner: Ada Lovelace
    owner_group: demo
    contact_email: ada@example.org
    creation_time: 2026-03-01T12:00:00Z
    investigator: Ada Lovelace
    used_software: [reduce-1.0]
    input_datasets: [scan-1, {pid: 20.500/abc}]
    job_parameters: {sigma: 2}
    on_files_changed: replace
    append_files: true
    checksum_algorithm: md5
    source_folder: /data/reduced-1
"""


def test_fields_become_scicat_camel_case_and_singulars_become_arrays(
    write: Callable[..., Path],
) -> None:
    path = write(
        BASE
        + "datasets:\n"
        + RAW
        + "    proposal_id: '2026-001'\n    instrument_ids: [i1, i2]\n    is_published: true\n"
        + "    relationships: [{identifier: x, identifier_type: Other}]\n"
        + "    techniques: [{pid: 'http://t/1', name: SAXS}]\n"
    )
    (dataset,) = load(path).datasets
    assert dataset.fields == {
        "datasetName": "scan-1",  # default: the key
        "owner": "Ada Lovelace",
        "ownerGroup": "demo",
        "contactEmail": "ada@example.org",
        "creationTime": "2026-03-01T12:00:00Z",
        "principalInvestigators": ["Ada Lovelace"],
        "creationLocation": "Beamline 1",
        "proposalIds": ["2026-001"],
        "instrumentIds": ["i1", "i2"],
        "isPublished": True,
        "relationships": [{"identifier": "x", "identifierType": "Other"}],
        "techniques": [{"pid": "http://t/1", "name": "SAXS"}],
    }
    assert dataset.type == "raw"
    assert dataset.checksum_algorithm == "sha256"
    assert dataset.on_files_changed is FilesPolicy.REFUSE


def test_derived_dataset_references_and_policies(write: Callable[..., Path]) -> None:
    path = write(BASE + "datasets:\n" + RAW + DERIVED)
    derived = load(path).datasets[1]
    assert derived.input_datasets == (KeyRef("scan-1"), PidRef("20.500/abc"))
    assert derived.fields["usedSoftware"] == ["reduce-1.0"]
    assert derived.fields["jobParameters"] == {"sigma": 2}
    assert derived.on_files_changed is FilesPolicy.REPLACE
    assert derived.append_files is True
    assert derived.checksum_algorithm == "md5"
    assert derived.source_folder == PurePosixPath("/data/reduced-1")


def test_paths_resolve_against_the_manifest_folder(
    write: Callable[..., Path], tmp_path: Path
) -> None:
    path = write(
        BASE
        + "datasets:\n"
        + RAW
        + "    files:\n      - '*.h5'\n      - {base: data, include: '**/*', exclude: ['*.tmp']}\n"
        + "    attachments: [{image: plots/a.png, caption: A}]\n",
        name="sub/scisync.yaml",
    )
    manifest = load(path)
    folder = tmp_path / "sub"
    assert manifest.base_dir == folder
    assert manifest.scicat.sandbox == folder / ".sandbox"
    assert manifest.storage == LocalStorageConfig(root=folder / "store")
    shorthand, full = manifest.datasets[0].files
    assert (shorthand.base, shorthand.include, shorthand.exclude) == (folder, ("*.h5",), ())
    assert (full.base, full.include, full.exclude) == (folder / "data", ("**/*",), ("*.tmp",))
    (attachment,) = manifest.datasets[0].attachments
    assert attachment.image == folder / "plots" / "a.png"
    assert attachment.caption == "A"
    assert attachment.location is not None
    assert str(attachment.location).endswith("scisync.yaml:20:19: datasets[0].attachments[0]")
    assert full.location is not None and full.location.line == 19


def test_samples_downloads_and_sftp(write: Callable[..., Path], tmp_path: Path) -> None:
    path = write(
        "version: 1\nproject: p\nscicat:\n  url: https://s.example.org/api/v3\n"
        "  username_env: U\n  password_env: P\n"
        "storage:\n  sftp: {host: files, root: /data, port: 2222, user: ada, connections: 2}\n"
        "samples:\n  - key: powder\n    owner_group: demo\n    sample_id: S-1\n"
        "    sample_characteristics: {mass: {value: 1, unit: g}}\n"
        "downloads:\n  - key: get\n    dataset: {pid: 20.500/x}\n    target: out\n"
        "    include: ['*.h5']\n    regex: 'run-\\d+'\n    files: [a.txt]\n"
    )
    manifest = load(path)
    assert manifest.scicat.url == "https://s.example.org/api/v3"
    assert (manifest.scicat.username_env, manifest.scicat.password_env) == ("U", "P")
    assert manifest.storage == SftpStorageConfig(
        host="files", root=PurePosixPath("/data"), port=2222, user="ada", connections=2
    )
    (sample,) = manifest.samples
    assert sample.sample_id == "S-1"
    assert sample.fields == {
        "sampleName": "powder",
        "ownerGroup": "demo",
        "sampleCharacteristics": {"mass": {"value": 1, "unit": "g"}},
    }
    (download,) = manifest.downloads
    assert download.dataset == PidRef("20.500/x")
    assert download.target == tmp_path / "out"
    assert (download.include, download.regex, download.files) == (("*.h5",), r"run-\d+", ("a.txt",))


def test_defaults_fill_in_and_entries_win(write: Callable[..., Path]) -> None:
    body = RAW.replace("    owner: Ada Lovelace\n", "").replace("    owner_group: demo\n", "")
    path = write(
        BASE
        + "defaults:\n  datasets:\n    owner: Default Owner\n"
        + "    owner_group: dg\n    license: MIT\n"
        + "  samples:\n    owner_group: sg\n"
        + "samples:\n  - key: s\n"
        + "datasets:\n"
        + body
        + "    license: CC0\n"
    )
    manifest = load(path)
    fields = manifest.datasets[0].fields
    assert (fields["owner"], fields["ownerGroup"], fields["license"]) == (
        "Default Owner",
        "dg",
        "CC0",
    )
    assert manifest.samples[0].fields["ownerGroup"] == "sg"


def test_digest_is_stable_and_follows_the_rendered_content(write: Callable[..., Path]) -> None:
    one = load(write(BASE + "datasets:\n" + RAW))
    reordered = BASE.replace(
        "version: 1\nproject: tests\n", "project: tests  # comment\nversion: 1\n"
    )
    two = load(write(reordered + "datasets:\n" + RAW, name="other.yaml"))
    changed = load(
        write(BASE + "datasets:\n" + RAW.replace("Beamline 1", "Beamline 2"), name="c.yaml")
    )
    via_var = load(
        write(
            BASE
            + "vars: {bl: Beamline 1}\ndatasets:\n"
            + RAW.replace("Beamline 1", "'{{ vars.bl }}'"),
            name="v.yaml",
        )
    )
    assert len(one.digest) == 64
    assert one.digest == two.digest == via_var.digest
    assert changed.digest != one.digest


def test_several_files_merge_sections_and_agreeing_scalars(write: Callable[..., Path]) -> None:
    first = write(BASE + "vars: {a: 1}\ndatasets:\n" + RAW, name="a.yaml")
    second = write(
        "version: 1\nscicat:\n  sandbox: .sandbox\nvars: {b: 2}\ndatasets:\n"
        + RAW.replace("scan-1", "scan-2"),
        name="b.yaml",
    )
    manifest = load(first, second)
    assert [d.key for d in manifest.datasets] == ["scan-1", "scan-2"]
    assert manifest.sources == (first.resolve(), second.resolve())
    assert manifest.datasets[1].location is not None
    assert manifest.datasets[1].location.file.endswith("b.yaml")


def test_conflicting_files_point_at_both(write: Callable[..., Path]) -> None:
    first = write(BASE + "vars: {a: 1}\n", name="a.yaml")
    second = write("project: other\nvars: {a: 2}\n", name="b.yaml")
    problems = problems_of(first, second)
    assert any(
        "b.yaml:1:1: project: 'project' differs from the one at" in p and "a.yaml:2:1" in p
        for p in problems
    )
    assert any("b.yaml:2:8: vars.a: 'a' is set differently at" in p for p in problems)


def test_duplicate_keys_across_files(write: Callable[..., Path]) -> None:
    first = write(BASE + "datasets:\n" + RAW, name="a.yaml")
    second = write("datasets:\n" + RAW, name="b.yaml")
    (problem,) = problems_of(first, second)
    assert "b.yaml:2:10: datasets[1].key: duplicate key 'scan-1'" in problem
    assert "a.yaml:9:10" in problem


def test_problems_in_several_files_are_all_reported(write: Callable[..., Path]) -> None:
    first = write("version: 1\nproject: [\n", name="a.yaml")
    second = write("a: b: c\n", name="b.yaml")
    problems = problems_of(first, second)
    assert len(problems) == 2
    assert "a.yaml" in problems[0] and "b.yaml" in problems[1]


def test_jwt_is_masked_in_every_message(write: Callable[..., Path]) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlMTIz"
    path = write(BASE + "datasets:\n" + RAW.replace("2026-03-01T12:00:00Z", token))
    problems = problems_of(path)
    assert any("looks like a token (JWT)" in p for p in problems)
    # the schema error about the same value would echo it: it is masked
    assert any("'***' is not an ISO-8601 date/time" in p for p in problems), problems
    assert all(token not in p for p in problems)
