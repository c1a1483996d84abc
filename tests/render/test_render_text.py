from __future__ import annotations

import re

import pytest

from scisync._util.secrets import forget_secrets, register_secret
from scisync.plan.model import Action, FieldChange, Plan, ResourceChange, ResourceKind
from scisync.render.text import (
    FORGET_DATASET,
    KNOWN_AFTER_APPLY,
    NO_CHANGES,
    action_symbol,
    render_plan_text,
    summary_line,
)
from tests.plan.plan_samples import FINGERPRINT, empty_plan, many_files_plan, sample_plan

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def block(text: str, address: str) -> str:
    """The lines of one change's block."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if f" {address} " in line)
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(lines[start:end])


@pytest.fixture
def text() -> str:
    return render_plan_text(sample_plan(), color=False)


def test_headlines_with_symbols(text: str) -> None:
    assert "  + dataset.run1 will be created" in text
    assert "  ~ dataset.run2 will be updated in place" in text
    assert "  -/+ dataset.run3 must be replaced" in text
    assert "  - dataset.gone will be forgotten" in text
    assert "  <= download.ref will be downloaded" in text
    assert "  <- sample.s1 will be adopted" in text
    assert "dataset.same" not in text  # no-ops are not listed


def test_changes_in_plan_order(text: str) -> None:
    order = [text.index(f" {a} ") for a in ("dataset.raw", "dataset.run1", "dataset.run2")]
    assert order == sorted(order)


def test_create_block(text: str) -> None:
    assert block(text, "dataset.run1") == "\n".join(
        [
            "  + dataset.run1 will be created",
            "      pid: (known after apply)",
            "      reason: new in the manifest",
            "      after: dataset.raw",
            "      fields:",
            '        datasetName: "Run 1"',
            "        inputDatasets: (known after apply)",
            "        scientificMetadata:",
            "          temp.v: 4.5",
            "      files: 2 to add (12.3 MiB)",
            "        + a.h5  4.0 MiB",
            "        + b.h5  8.3 MiB",
            "      attachments: 1 to add",
            '        + "Overview plot"',
        ]
    )


def test_update_block_with_drift(text: str) -> None:
    assert block(text, "dataset.run2") == "\n".join(
        [
            "  ~ dataset.run2 will be updated in place",
            "      pid: 20.500.12269/abc",
            "      reason: metadata differs",
            "      fields:",
            '        ~ description: "old text" → "new text"'
            "  [drift: changed in SciCat since the last apply]",
            "        ~ keywords:",
            '            + [1]: "b"',
            "            (1 unchanged value not shown)",
            "      files: 1 to add (2.0 KiB), 1 unchanged (3.0 GiB)",
            "        + extra.txt  2.0 KiB",
            "      attachments: 1 to update",
            '        ~ "Fit"  (new image)',
        ]
    )


def test_replace_block(text: str) -> None:
    replace = block(text, "dataset.run3")
    assert "pid: 20.500.12269/old" in replace
    assert f"new pid: {KNOWN_AFTER_APPLY}" in replace
    assert replace.startswith("  -/+ dataset.run3 must be replaced because files changed: c.h5")
    assert "reason:" not in replace
    assert "files: 1 changed (10 B), 1 removed (20 B)" in replace
    assert "        ~ c.h5  10 B" in replace
    assert "        - d.h5  20 B" in replace


def test_forget_says_plainly_that_the_dataset_stays(text: str) -> None:
    forget = block(text, "dataset.gone")
    assert FORGET_DATASET in forget
    assert (
        "forget: dropped from scisync.lock; the dataset stays in SciCat "
        "(SciCat datasets cannot be deleted)"
    ) in forget


def test_download_and_adopt_blocks(text: str) -> None:
    assert "files: 1 to download (1.0 MiB)" in block(text, "download.ref")
    adopt = block(text, "sample.s1")
    assert "reason: found in SciCat by its sample id; not in scisync.lock" in adopt
    assert sum(1 for line in adopt.splitlines() if "found in SciCat" in line) == 1
    assert "      sample id: sample-1" in adopt


def test_summary_and_warnings(text: str) -> None:
    assert text.endswith(
        "Plan: 2 to create, 1 to update, 1 to replace, 1 to adopt, 1 to forget, "
        "4 files (12.3 MiB) to upload, 1 file (1.0 MiB) to download.\n"
    )
    assert "Warnings:\n  ! dataset.run2: description was edited in SciCat" in text


def test_summary_wording_without_transfers() -> None:
    change = ResourceChange(kind=ResourceKind.DATASET, key="gone", action=Action.FORGET, pid="p")
    plan = Plan(project="demo", changes=(change,), fingerprint=FINGERPRINT)
    assert summary_line(plan) == (
        "Plan: 0 to create, 0 to update, 0 to replace, 1 to forget, "
        "0 files to upload, 0 files to download."
    )


def test_no_changes() -> None:
    assert render_plan_text(empty_plan(), color=False) == NO_CHANGES + "\n"
    assert summary_line(empty_plan()) == NO_CHANGES


def test_few_files_listed_many_counted() -> None:
    few = render_plan_text(many_files_plan(10), color=False)
    assert "f009.dat" in few
    many = render_plan_text(many_files_plan(11), color=False)
    assert "f000.dat" not in many
    assert "files: 11 to add (1.1 KiB)" in many


def test_no_ansi_without_color(text: str) -> None:
    assert "\x1b[" not in text


def test_ansi_with_color_and_same_text_underneath(text: str) -> None:
    coloured = render_plan_text(sample_plan(), color=True)
    assert "\x1b[32m" in coloured  # green for create
    assert "\x1b[31m" in coloured  # red for forget
    assert ANSI.sub("", coloured) == text


def test_action_symbols() -> None:
    assert [action_symbol(a) for a in Action if a is not Action.NOOP] == [
        "+",
        "~",
        "-/+",
        "<-",
        "-",
        "<=",
        "*",
        "@",
    ]


def test_secrets_are_masked_even_when_truncated() -> None:
    register_secret("hunter2-secret-value")
    try:
        change = ResourceChange(
            kind=ResourceKind.DATASET,
            key="k",
            action=Action.UPDATE,
            pid="p",
            reason="token hunter2-secret-value leaked",
            field_changes=(
                FieldChange(
                    name="description",
                    before="a" * 50 + "hunter2-secret-value",
                    after="b",
                ),
            ),
        )
        plan = Plan(project="demo", changes=(change,), fingerprint=FINGERPRINT)
        text = render_plan_text(plan, color=False, value_width=60)
        assert "hunter2" not in text
        assert "***" in text
    finally:
        forget_secrets()
