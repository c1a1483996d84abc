"""Fixtures for the manifest tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write("text", name="scisync.yaml")`` -> the path of a dedented manifest file."""

    def _write(text: str, name: str = "scisync.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> object:
    """Secrets found in one test's manifest must not mask text in the next test."""
    from scisync._util.secrets import forget_secrets

    yield
    forget_secrets()
