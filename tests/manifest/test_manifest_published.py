"""The ``published_data:`` section: what it builds, and one table of what it refuses
(each with file:line:col and a hint)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from scisync.manifest import KeyRef, PidRef
from tests.manifest.manifest_helpers import BASE, RAW, load, problems_of

PUBLICATION = """\
published_data:
  - key: paper-2026
    title: "Powder study {{ 2000 + 26 }}"
    abstract: What we measured.
    creators:
      - {name: "Curie, Marie", given_name: Marie, family_name: Curie, name_type: Personal}
    publisher: {name: PSI, publisher_identifier_scheme: ROR, scheme_uri: "https://ror.org/"}
    publication_year: 2026
    resource_type: Dataset
    datasets: [scan-1, {pid: 20.500.12269/external}]
    metadata:
      subjects: [{subject: crystallography}]
      language: en
    register: true
"""


def test_builds_the_record_body_with_datacite_names(write: Callable[..., Path]) -> None:
    manifest = load(write(BASE + "datasets:\n" + RAW + PUBLICATION))
    (spec,) = manifest.published_data
    assert spec.key == "paper-2026"
    assert spec.title == "Powder study 2026"  # templated like every other value
    assert spec.datasets == (KeyRef("scan-1"), PidRef("20.500.12269/external"))
    assert spec.register is True
    assert spec.metadata == {
        "creators": [
            {
                "name": "Curie, Marie",
                "givenName": "Marie",
                "familyName": "Curie",
                "nameType": "Personal",
            }
        ],
        "language": "en",
        "publicationYear": 2026,
        "publisher": {
            "name": "PSI",
            "publisherIdentifierScheme": "ROR",
            "schemeUri": "https://ror.org/",
        },
        "resourceType": "Dataset",
        "subjects": [{"subject": "crystallography"}],
    }
    assert spec.location is not None and spec.location.line == 18


CREATOR_LINE = (
    '    creators:\n      - {name: "Curie, Marie", given_name: Marie, family_name: Curie, '
    "name_type: Personal}\n"
)
BAD = [
    (
        "unknown dataset key",
        ("datasets: [scan-1,", "datasets: [scan-2,"),
        "published_data[0].datasets[0]: no dataset with key 'scan-2' in this manifest",
        "did you mean 'scan-1'?",
    ),
    (
        "a sample key as dataset",
        ("datasets: [scan-1,", "datasets: [crystal,"),
        "'crystal' is a sample",
        "name a dataset key here",
    ),
    (
        "named field repeated in metadata",
        ("      language: en", "      publicationYear: 2025"),
        "metadata key 'publicationYear' is set by scisync or by a named field",
        "set it with the entry's 'publication_year' field",
    ),
    (
        "marker in metadata",
        ("      language: en", "      scisync_marker: x"),
        "metadata key 'scisync_marker' is set by scisync",
        "choose another name",
    ),
    (
        "missing publisher scheme",
        ("publisher_identifier_scheme: ROR, ", ""),
        "publisher_identifier_scheme",
        None,
    ),
    ("missing title", ('    title: "Powder study {{ 2000 + 26 }}"\n', ""), "title", None),
    (
        "year as text",
        ("publication_year: 2026", "publication_year: soon"),
        "publication_year",
        None,
    ),
    (
        "no creators",
        (
            CREATOR_LINE,
            "    creators: []\n",
        ),
        "creators",
        None,
    ),
    (
        "no datasets",
        ("datasets: [scan-1, {pid: 20.500.12269/external}]", "datasets: []"),
        "datasets",
        None,
    ),
    ("unknown key", ("register: true", "registr: true"), "registr", "did you mean 'register'?"),
    ("duplicate key", ("key: paper-2026", "key: scan-1"), "duplicate key 'scan-1'", None),
]


@pytest.mark.parametrize(("name", "edit", "what", "hint"), BAD, ids=[b[0] for b in BAD])
def test_refused_with_position_and_hint(
    write: Callable[..., Path], name: str, edit: tuple[str, str], what: str, hint: str | None
) -> None:
    text = BASE + "samples:\n  - {key: crystal, owner_group: demo}\ndatasets:\n" + RAW
    text += PUBLICATION
    assert edit[0] in text, name
    problems = problems_of(write(text.replace(edit[0], edit[1], 1)))
    found = [p for p in problems if what in p]
    assert found, problems
    assert re.search(r"scisync\.yaml:\d+:\d+: ", found[0]), found  # file:line:col first
    if hint is not None:
        assert hint in found[0], found
