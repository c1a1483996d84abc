"""Shared manifest snippets and loaders for the manifest tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from scisync.errors import ManifestError
from scisync.manifest import Manifest, load_manifest

BASE = """\
version: 1
project: tests
scicat:
  sandbox: .sandbox
storage:
  local:
    root: ./store
"""

RAW = """\
  - key: scan-1
    type: raw
    owner: Ada Lovelace
    owner_group: demo
    contact_email: ada@example.org
    creation_time: 2026-03-01T12:00:00Z
    principal_investigator: Ada Lovelace
    creation_location: Beamline 1
"""


def load(
    *paths: Path,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    var_files: tuple[Path, ...] = (),
) -> Manifest:
    return load_manifest(
        list(paths), variables=variables, environ=environ or {}, var_files=var_files
    )


def problems_of(*paths: Path, **kwargs: object) -> list[str]:
    """The formatted problems load_manifest reports (it must fail)."""
    with pytest.raises(ManifestError) as caught:
        load(*paths, **kwargs)  # type: ignore[arg-type]
    return [problem.format() for problem in caught.value.problems]
