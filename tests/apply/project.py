"""A small project for tests that run the pipeline against the sandbox.

A sample, three raw datasets (files; the first with an attachment) that refer to the
sample by key, and two derived datasets, each made from one raw dataset by key: enough
for dependency levels, parallel branches and every kind of SciCat write.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

PLOT = Path(__file__).parents[2] / "manifests.example" / "quickstart" / "plots" / "intensity.png"


def _raw(number: int) -> str:
    attachment = (
        "    attachments:\n      - image: plot.png\n        caption: Intensity\n"
        if number == 1
        else ""
    )
    return (
        f"  - key: raw-{number}\n"
        "    type: raw\n"
        f"    dataset_name: Raw run {number}\n"
        "    owner: Ada Lovelace\n"
        "    owner_group: ingestor\n"
        "    contact_email: ada@example.org\n"
        "    principal_investigator: Ada Lovelace\n"
        "    creation_location: Beamline 1\n"
        f"    creation_time: 2026-03-0{number}T12:00:00Z\n"
        "    sample: crystal\n"
        "    files:\n"
        f"      - base: runs/run-{number}\n"
        "        include: ['*.dat']\n" + attachment
    )


def _derived(number: int) -> str:
    return (
        f"  - key: reduced-{number}\n"
        "    type: derived\n"
        f"    dataset_name: Reduced run {number}\n"
        "    owner: Ada Lovelace\n"
        "    owner_group: ingestor\n"
        "    contact_email: ada@example.org\n"
        "    investigator: Ada Lovelace\n"
        "    creation_time: 2026-03-10T12:00:00Z\n"
        "    used_software: [scisync-tests]\n"
        f"    input_datasets: [raw-{number}]\n"
    )


def write_project(root: Path, url: str, store: Path) -> None:
    shutil.copy(PLOT, root / "plot.png")
    for number in (1, 2, 3):
        folder = root / "runs" / f"run-{number}"
        folder.mkdir(parents=True)
        for frame in (1, 2, 3):
            (folder / f"frame-{frame}.dat").write_text(f"run {number} frame {frame}\n" * 20)
    header = textwrap.dedent(
        f"""\
        version: 1
        project: apply-test
        scicat:
          url: {url}
          token_env: SCICAT_TOKEN
        storage:
          local:
            root: {store}
        samples:
          - key: crystal
            sample_name: A crystal
            owner_group: ingestor
        datasets:
        """
    )
    datasets = "".join(_raw(n) for n in (1, 2, 3)) + "".join(_derived(n) for n in (1, 2))
    (root / "scisync.yaml").write_text(header + datasets)
