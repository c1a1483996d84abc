"""Applying one publication change: create, update, register a PublishedData record.

Every step goes through the journal (intent before the request, result after it).  A
create is never repeated blindly: when an earlier run journaled the intent, or the POST
failed in a way that may hide a success, the record is first looked for by its marker
(SciCat assigns the DOI, so the marker is how scisync knows its own records).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from scisync._util.jsontypes import Json
from scisync.apply.cancel import Cancellation
from scisync.apply.events import EventSink, StepFinished, StepStarted
from scisync.apply.faults import checkpoint
from scisync.apply.journal import Journal
from scisync.apply.ports import Catalog
from scisync.desired.ids import MARKER_FIELD
from scisync.errors import ApiError
from scisync.plan.model import Action, ResourceChange
from scisync.scicat.published import PublishedDataRecord

_MAYBE_DONE = (None, 500, 502, 503, 504)  # statuses after which the POST may have landed

Resolve = Callable[[Json, str], Json]  # {"$ref": address} -> pid, for this change's address
Step = Callable[[ResourceChange, str, Callable[[], object]], None]  # journaled step


@dataclass(frozen=True)
class PublicationOutcome:
    doi: str
    status: str | None  # the status SciCat last answered; None when nothing was asked
    registered: bool  # this apply registered the DOI


@dataclass(frozen=True)
class PublicationApplier:
    """What the applier lends to publication changes (its catalog, journal, steps)."""

    catalog: Catalog
    journal: Journal
    events: EventSink
    cancel: Cancellation
    intents: Collection[tuple[str, str]]  # (step, address) an earlier run journaled
    resolve: Resolve
    step: Step

    def apply(self, change: ResourceChange) -> PublicationOutcome:
        """Bring one record to what the plan says."""
        context = f"publication {change.key}"
        record: PublishedDataRecord | None = None
        doi = change.pid
        if change.action is Action.CREATE:
            record = self._create(change, context)
            doi = record.doi
        elif change.patch:
            assert doi is not None
            patch = self.resolve(change.patch, change.address)
            assert isinstance(patch, dict)
            known = doi
            record = self._step(
                change,
                "update-publication",
                lambda: self.catalog.update_published_data(known, patch, context=context),
            )
        assert doi is not None
        registered = False
        wants_register = change.register or change.action is Action.REGISTER
        if wants_register and (record is None or not record.is_registered):
            known = doi
            record = self._step(
                change,
                "register-publication",
                lambda: self.catalog.register_published_data(known, context=context),
            )
            registered = True
        if record is None and change.action is Action.ADOPT:
            record = self.catalog.get_published_data(doi, context=context)  # learn its status
        return PublicationOutcome(doi, record.status if record else None, registered)

    def _create(self, change: ResourceChange, context: str) -> PublishedDataRecord:
        assert change.body is not None and change.marker is not None
        if ("create-publication", change.address) in self.intents:
            found = self._find_created(change, context)
            if found is not None:
                return found  # an interrupted run created it: never a second record
        body = self.resolve(change.body, change.address)
        assert isinstance(body, dict)
        self.cancel.check()
        self.events(StepStarted(change.address, "create-publication"))
        self.journal.record("intent", "create-publication", change.address, marker=change.marker)
        checkpoint(f"before-create-publication:{change.address}")
        try:
            record = self.catalog.create_published_data(body, context=context)
        except ApiError as error:
            found = self._find_created(change, context)
            if found is None or error.status not in _MAYBE_DONE:
                raise
            record = found
        self.journal.record("done", "create-publication", change.address, doi=record.doi)
        self.events(StepFinished(change.address, "create-publication", record.doi))
        checkpoint(f"after-create-publication:{change.address}")
        return record

    def _find_created(self, change: ResourceChange, context: str) -> PublishedDataRecord | None:
        assert change.marker is not None
        found = self.catalog.find_published_data_by_metadata(
            MARKER_FIELD, [change.marker], context=context
        )
        records = found.get(change.marker, [])
        return records[0] if records else None

    def _step(
        self, change: ResourceChange, step: str, action: Callable[[], PublishedDataRecord]
    ) -> PublishedDataRecord:
        answers: list[PublishedDataRecord] = []
        self.step(change, step, lambda: answers.append(action()))
        return answers[0]
