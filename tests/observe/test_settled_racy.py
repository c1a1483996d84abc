"""The settled rule (scisync.observe.settled) lets a recorded stamp vouch only when it is
not racy (scisync._util.racy), and reads a settled.json of the format before recorded
times, or with damaged entries, as no stamps at all (one full plan, never an error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scisync._util.racy import RACY_MARGIN_NS as MARGIN
from scisync.observe.settled import Candidate, Recorded, SettledStamps, settled_datasets
from scisync.storage.base import RemotePath

NOW = 1_800_000_000 * 10**9
WALKED = NOW - 60 * 10**9  # the recording plan's walk began a minute ago

# (case, recorded stamp, recorded walk time, latest change of the files now, settled)
CASES = [
    ("files older than the recording walk less the margin", "s", WALKED, WALKED - MARGIN - 1, True),
    ("a file changed within the margin before that walk", "s", WALKED, WALKED - MARGIN, False),
    ("a file changed after that walk began", "s", WALKED, WALKED + 1, False),
    ("another stamp", "t", WALKED, WALKED - MARGIN - 1, False),
    ("recorded in the future", "s", NOW + 1, WALKED - MARGIN - 1, False),
]


@pytest.mark.parametrize(
    ("stamp", "walked", "newest", "settled"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_recorded_stamp_settles_a_dataset_only_when_not_racy(
    stamp: str, walked: int, newest: int, settled: bool
) -> None:
    candidate = Candidate("s", RemotePath("/data/a"), walked_ns=NOW, newest_ns=newest)
    found = settled_datasets({"a": candidate}, {"a": Recorded(stamp, walked)}, NOW)
    assert (found == {"a": RemotePath("/data/a")}) is settled


def test_a_racy_referenced_dataset_unsettles_the_one_that_needs_it() -> None:
    old = WALKED - MARGIN - 1
    candidates = {
        "raw": Candidate("r", RemotePath("/raw"), walked_ns=NOW, newest_ns=WALKED),  # racy
        "derived": Candidate(
            "d", RemotePath("/derived"), frozenset({"dataset.raw"}), NOW, newest_ns=old
        ),
    }
    known = {"raw": Recorded("r", WALKED), "derived": Recorded("d", WALKED)}
    assert settled_datasets(candidates, known, NOW) == {}


@pytest.mark.parametrize(
    "document",
    [
        {"version": 1, "datasets": {"a": "s"}},  # before recorded times: maybe racy
        {"version": 2, "datasets": {"a": "s"}},
        {"version": 2, "datasets": {"a": ["s"]}},
        {"version": 2, "datasets": {"a": ["s", "123"]}},
        {"version": 2, "datasets": {"a": ["s", 1.5]}},
        {"version": 2, "datasets": {"a": ["s", True]}},
        {"version": 2, "datasets": {"a": [1, 2]}},
        {"version": 2, "datasets": ["a"]},
    ],
)
def test_an_old_or_damaged_settled_file_records_nothing(tmp_path: Path, document: object) -> None:
    file = tmp_path / "settled.json"
    file.write_text(json.dumps(document))
    assert SettledStamps(file).stamps == {}


def test_recorded_stamps_are_read_back_as_written(tmp_path: Path) -> None:
    file = tmp_path / "settled.json"
    SettledStamps(file).save({"a": Recorded("s", WALKED)})
    assert SettledStamps(file).stamps == {"a": Recorded("s", WALKED)}
