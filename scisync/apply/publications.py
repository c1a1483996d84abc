"""Applying one publication change: create, update, register a PublishedData record.

Every step goes through the journal (intent before the request, result after it).  A
create is never repeated blindly: when an earlier run journaled the intent, or the POST
failed in a way that may hide a success, the record is first looked for by its marker
(SciCat assigns the DOI, so the marker is how scisync knows its own records).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from scisync.apply.events import StepFinished, StepStarted
from scisync.apply.faults import checkpoint
from scisync.errors import ApiError
from scisync.plan.model import Action, ResourceChange
from scisync.scicat.published import PublishedDataRecord

if TYPE_CHECKING:
    from scisync.apply.executor import Applier

_MAYBE_DONE = (None, 500, 502, 503, 504)  # statuses after which the POST may have landed


def apply_publication(applier: Applier, change: ResourceChange) -> None:
    """Bring one record to what the plan says; record its DOI and status in the results."""
    context = f"publication {change.key}"
    catalog = applier.catalog
    record: PublishedDataRecord | None = None
    doi = change.pid
    if change.action is Action.CREATE:
        record = _create(applier, change, context)
        doi = record.doi
    elif change.patch:
        assert doi is not None
        patch = applier._resolve(change.patch, change.address)
        assert isinstance(patch, dict)
        known = doi
        record = _step(
            applier,
            change,
            "update-publication",
            lambda: catalog.update_published_data(known, patch, context=context),
        )
    assert doi is not None
    wants_register = change.register or change.action is Action.REGISTER
    if wants_register and (record is None or not record.is_registered):
        known = doi
        record = _step(
            applier,
            change,
            "register-publication",
            lambda: catalog.register_published_data(known, context=context),
        )
        with applier.results._lock:
            applier.results.counts["registered"] = applier.results.counts.get("registered", 0) + 1
    if record is None and change.action is not Action.NOOP:
        record = catalog.get_published_data(doi, context=context)  # adopt: learn its status
    with applier.results._lock:
        applier.results.pids[change.address] = doi
        if record is not None:
            applier.results.publication_status[change.address] = record.status


def _create(applier: Applier, change: ResourceChange, context: str) -> PublishedDataRecord:
    assert change.body is not None and change.marker is not None
    if ("create-publication", change.address) in applier.intents:
        found = _find_created(applier, change, context)
        if found is not None:
            return found  # an interrupted run created it: never a second record
    body = applier._resolve(change.body, change.address)
    assert isinstance(body, dict)
    applier.cancel.check()
    applier.events(StepStarted(change.address, "create-publication"))
    applier.journal.record("intent", "create-publication", change.address, marker=change.marker)
    checkpoint(f"before-create-publication:{change.address}")
    try:
        record = applier.catalog.create_published_data(body, context=context)
    except ApiError as error:
        found = _find_created(applier, change, context)
        if found is None or error.status not in _MAYBE_DONE:
            raise
        record = found
    applier.journal.record("done", "create-publication", change.address, doi=record.doi)
    applier.events(StepFinished(change.address, "create-publication", record.doi))
    checkpoint(f"after-create-publication:{change.address}")
    return record


def _find_created(
    applier: Applier, change: ResourceChange, context: str
) -> PublishedDataRecord | None:
    assert change.marker is not None
    found = applier.catalog.find_published_data_by_metadata(
        "scisync_marker", [change.marker], context=context
    )
    records = found.get(change.marker, [])
    return records[0] if records else None


def _step(
    applier: Applier,
    change: ResourceChange,
    step: str,
    action: Callable[[], PublishedDataRecord],
) -> PublishedDataRecord:
    answers: list[PublishedDataRecord] = []
    applier._step(change, step, lambda: answers.append(action()))
    return answers[0]
