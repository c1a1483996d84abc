"""The lockfile's ``publications`` section: written only when there is one, read back
exactly, checked against the schema, and absent from (and harmless to) older lockfiles."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from scisync.apply.lockbuild import updated_lock
from scisync.errors import LockfileError
from scisync.lock.io import canonical_lock, dumps_lock, loads_lock
from scisync.lock.model import LockedPublication, Lockfile
from scisync.plan.model import Action, Fingerprint, Plan, ResourceChange, ResourceKind
from tests.lock.lock_samples import small_lock

ENTRY = LockedPublication("paper", "10.5072/abc", "registered", "d" * 64)


def test_a_lock_without_publications_is_written_as_before() -> None:
    text = dumps_lock(small_lock())
    assert "publications" not in text  # older scisyncs and diffs see no change
    assert loads_lock(text, "scisync.lock").publications == {}


def test_publications_round_trip() -> None:
    lock = replace(small_lock(), publications={"paper": ENTRY})
    text = dumps_lock(lock)
    assert json.loads(text)["publications"] == {
        "paper": {"doi": "10.5072/abc", "fields_digest": "d" * 64, "status": "registered"}
    }
    assert loads_lock(text, "scisync.lock") == canonical_lock(lock)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"doi": "", "status": "private", "fields_digest": "x"}, "should be non-empty"),
        ({"doi": "10.5072/a", "status": "gone", "fields_digest": "x"}, "is not one of"),
        ({"doi": "10.5072/a", "status": "private"}, "'fields_digest' is a required property"),
    ],
)
def test_a_bad_entry_is_refused_with_its_place(entry: dict[str, str], message: str) -> None:
    data = json.loads(dumps_lock(small_lock()))
    data["publications"] = {"paper": entry}
    text = json.dumps(data, indent=2)
    with pytest.raises(LockfileError) as caught:
        loads_lock(text, "scisync.lock")
    assert message in str(caught.value) and "scisync.lock:" in str(caught.value)


def _change(action: Action, doi: str | None = "10.5072/abc") -> ResourceChange:
    return ResourceChange(
        kind=ResourceKind.PUBLICATION, key="paper", action=action, pid=doi, fields_digest="e"
    )


def _plan(*changes: ResourceChange) -> Plan:
    return Plan(project="demo", changes=changes, fingerprint=Fingerprint("m", "l", "o"))


def test_the_apply_records_the_doi_and_the_status_scisync_was_answered() -> None:
    empty = Lockfile(project="demo")
    created = _change(Action.CREATE, doi=None)
    lock = updated_lock(
        empty, _plan(created), {"publication.paper": "10.5072/new"}, {}, {},
        publication_status={"publication.paper": "registered"},
    )  # fmt: skip
    assert lock.publications == {
        "paper": LockedPublication("paper", "10.5072/new", "registered", "e")
    }


def test_an_unfinished_change_keeps_the_old_entry_and_forget_drops_it() -> None:
    before = Lockfile(project="demo", publications={"paper": ENTRY})
    update = _change(Action.UPDATE)
    kept = updated_lock(before, _plan(update), {}, {}, {}, completed=set())
    assert kept.publications == {"paper": ENTRY}
    noop = updated_lock(before, _plan(_change(Action.NOOP)), {}, {}, {})
    assert noop.publications["paper"].status == "registered"  # the status recorded before
    forgotten = updated_lock(before, _plan(_change(Action.FORGET)), {}, {}, {})
    assert forgotten.publications == {}
