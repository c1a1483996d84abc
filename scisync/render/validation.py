"""``scisync validate``: the manifest's summary, or every problem, as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from scisync._util.secrets import redact
from scisync.errors import ManifestError
from scisync.manifest.model import Manifest
from scisync.render.safe import safe_text
from scisync.render.units import plural

if TYPE_CHECKING:
    from scisync.api import Project


def validation_json(load: Callable[[], Project]) -> tuple[str, bool]:
    """Run *load*; return the JSON report and whether the manifest is valid.

    Only manifest problems are reported as data; any other error propagates to the CLI's
    error boundary like in every command.
    """
    try:
        manifest = load().manifest
    except ManifestError as error:
        report: dict[str, object] = {
            "valid": False,
            "problems": [
                {
                    "where": problem.where,
                    "what": problem.what,
                    "hint": problem.hint,
                    "message": problem.format(),
                }
                for problem in error.problems
            ],
        }
        return redact(json.dumps(report, indent=2, ensure_ascii=False)), False
    report = {
        "valid": True,
        "files": [str(path) for path in manifest.sources],
        "project": manifest.project,
        "datasets": [d.key for d in manifest.datasets],
        "samples": [s.key for s in manifest.samples],
        "downloads": [d.key for d in manifest.downloads],
    }
    return redact(json.dumps(report, indent=2, ensure_ascii=False)), True


def validation_text(manifest: Manifest) -> str:
    """The one line ``scisync validate`` prints for a valid manifest."""
    return (
        f"{', '.join(safe_text(str(p)) for p in manifest.sources)}: valid "
        f"({plural(len(manifest.datasets), 'dataset')}, "
        f"{plural(len(manifest.samples), 'sample')}, "
        f"{plural(len(manifest.downloads), 'download')})"
    )
