"""Offline checks of the local files a manifest names, for ``scisync validate``.

The same rules the plan applies when it reads the files (a selection's base must exist,
its patterns must match a regular file, an attachment's image must be a file), checked
without hashing anything and without SciCat, every problem at once.
"""

from __future__ import annotations

from scisync.desired.build import expand_files
from scisync.errors import ManifestError, Problem
from scisync.manifest.model import Manifest


def local_input_problems(manifest: Manifest) -> list[Problem]:
    """Every file selection that selects nothing and every attachment image that is missing."""
    problems: list[Problem] = []
    for spec in manifest.datasets:
        where = str(spec.location) if spec.location else f"dataset {spec.key}"
        try:
            expand_files(spec)
        except ManifestError as error:
            problems.extend(error.problems)
        for attachment in spec.attachments:
            if not attachment.image.is_file():
                problems.append(
                    Problem(
                        what=f"attachment image {attachment.image} does not exist "
                        f"(caption {attachment.caption!r})",
                        where=where,
                        hint="fix `image:` (it is relative to the manifest's folder) or create "
                        "the image",
                    )
                )
    return problems


def check_local_inputs(manifest: Manifest) -> None:
    """Raise one ManifestError listing every local input problem (none: return)."""
    problems = local_input_problems(manifest)
    if problems:
        raise ManifestError(problems=problems)
