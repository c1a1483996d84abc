"""A download's query: metadata conditions and times, parsed or refused with a position."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scisync.errors import ManifestError
from scisync.manifest import load_manifest
from scisync.manifest.model import MetadataFilter
from scisync.manifest.queries import parse_condition

HEAD = """\
version: 1
project: demo
scicat: {url: "https://scicat.example.org/api/v3"}
downloads:
  - key: runs
    target: data
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("temperature > 4 K", MetadataFilter("temperature", ">", 4.0, "K")),
        ("temperature <= -1.5e2 degC", MetadataFilter("temperature", "<=", -150.0, "degC")),
        ("energy >= 7 keV", MetadataFilter("energy", ">=", 7.0, "keV")),
        ("count < 3", MetadataFilter("count", "<", 3.0, None)),
        ("count == 3", MetadataFilter("count", "==", 3.0, None)),
        ("state == frozen", MetadataFilter("state", "==", "frozen", None)),
        ("pressure range 0.9 1.1 bar", MetadataFilter("pressure", "range", (0.9, 1.1), "bar")),
        ("field range 1 2 m/s^2", MetadataFilter("field", "range", (1.0, 2.0), "m/s^2")),
    ],
)
def test_conditions_parse(text: str, expected: MetadataFilter) -> None:
    assert parse_condition(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("temperature >> 4", "is not '<key> <op> <value> [unit]'"),
        ("temp.erature > 4", "is not '<key> <op> <value> [unit]'"),
        ("temperature > warm", "> needs a number"),
        ("state == frozen K", "== needs a number"),
        ("pressure range 2 1", "low < high"),
        ("x > 1e999", "finite number"),
    ],
)
def test_bad_conditions_are_refused(text: str, message: str) -> None:
    result = parse_condition(text)
    assert isinstance(result, str) and message in result


def _load(write: Callable[..., Path], body: str) -> ManifestError | list[object]:
    path = write(HEAD + body)
    try:
        return list(load_manifest([path], environ={}).downloads)
    except ManifestError as error:
        return error


def test_a_query_download_loads(write: Callable[..., Path]) -> None:
    (spec,) = _load(
        write,
        "    max_datasets: 7\n    query:\n      type: raw\n      metadata: ['t > 4 K']\n"
        "      created_from: 2026-01-01T00:00:00+01:00\n",
    )
    assert spec.dataset is None and spec.max_datasets == 7  # type: ignore[attr-defined]
    query = spec.query  # type: ignore[attr-defined]
    assert query.dataset_type == "raw"
    assert query.metadata == (MetadataFilter("t", ">", 4.0, "K"),)
    assert query.created_from == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    query: {type: raw}\n    dataset: {pid: x}\n", "exactly one of 'dataset' or 'query'"),
        ("    include: ['*']\n", "exactly one of 'dataset' or 'query'"),
        ("    query: {}\n", "downloads[0].query"),
        ("    query: {metadata: ['t >> 4']}\n", "is not a metadata condition"),
        ("    query: {created_from: '2026-01-01T00:00:00'}\n", "ISO-8601"),
        (
            "    query: {created_from: '2026-02-01T00:00:00Z',\n"
            "            created_until: '2026-01-01T00:00Z'}\n",
            "created_until must be later than created_from",
        ),
        ("    query: {type: raw}\n    max_datasets: 0\n", "out of range"),
        ("    query: {colour: red}\n", "unknown key 'colour'"),
    ],
)
def test_bad_queries_are_refused_with_a_position(
    write: Callable[..., Path], body: str, message: str
) -> None:
    error = _load(write, body)
    assert isinstance(error, ManifestError), error
    assert message in str(error)
    assert "scisync.yaml:" in str(error)
