"""Planning one publication (a SciCat PublishedData record, i.e. a DOI).

SciCat's lifecycle decides what can be planned: a record is created ``private``; its
content may change while it is not registered; ``register`` works from any status; a
registered (or amended) record's content can no longer change through SciCat (the v4
API refuses PATCH, and ``amend`` only changes its status).  So:

=====================  ===================  ===========================================
record in SciCat       manifest             plan
=====================  ===================  ===========================================
none                   any                  create (and register when ``register``)
not registered         same content         no-op, or register when ``register``
not registered         changed              update (and register when ``register``)
registered / amended   same content         no-op
registered / amended   changed              conflict: refused, the DOI is frozen
several with marker    any                  conflict: duplicate marker
=====================  ===================  ===========================================
"""

from __future__ import annotations

from scisync._util.jsontypes import JsonObject
from scisync.desired.model import DesiredPublication
from scisync.observe.model import ObservedPublication
from scisync.plan.context import PlanContext
from scisync.plan.model import Action, ConflictKind, FieldChange, ResourceChange, ResourceKind
from scisync.plan.references import UNKNOWN, depends_on, diff_fields, resolve

REGISTERED_HINT = (
    "SciCat changes a registered record only through its amend path, which sets the "
    "status and leaves the content frozen; revert the manifest to what the DOI holds, or "
    "publish the new content under a new DOI (a published_data entry with a new key)"
)


def plan_publication(ctx: PlanContext, publication: DesiredPublication) -> ResourceChange:
    address = f"publication.{publication.key}"
    where = str(publication.spec.location) if publication.spec.location else None
    found = ctx.observed.publications.get(publication.marker, ())
    locked = ctx.recorded.publications.get(publication.key)
    if len(found) > 1:
        dois = ", ".join(record.doi for record in found)
        ctx.conflict(
            ConflictKind.DUPLICATE_MARKER,
            address,
            f"{len(found)} published-data records carry the marker {publication.marker!r}: {dois}",
            "keep one: an admin deletes the others in SciCat (the one in scisync.lock, if "
            "any, is the one scisync made last), then plan again",
            where,
        )
        return _change(publication, Action.NOOP, locked.doi if locked else None)
    if not found:
        if locked is not None:
            ctx.conflict(
                ConflictKind.RECORD_GONE,
                address,
                f"scisync.lock records DOI {locked.doi}, but SciCat has no published-data "
                f"record with the marker {publication.marker!r} visible to you",
                "log in as a user who can see the record; if it was deleted on purpose, "
                "remove the entry from scisync.lock's publications to create a new one",
                where,
            )
            return _change(publication, Action.NOOP, locked.doi)
        return _create(ctx, publication)
    return _existing(ctx, publication, found[0], locked is None, where)


def _create(ctx: PlanContext, publication: DesiredPublication) -> ResourceChange:
    body = publication.body
    shown = []
    for name, value in sorted(body.items()):
        resolved = resolve(ctx, value)  # pids of datasets known now; others after apply
        if resolved is UNKNOWN:
            shown.append(FieldChange(name, None, value, after_unknown=True))
        else:
            shown.append(FieldChange(name, None, resolved))  # type: ignore[arg-type]
    return _change(
        publication,
        Action.CREATE,
        None,
        field_changes=tuple(shown),
        body=body,
        register=publication.spec.register,
    )


def _existing(
    ctx: PlanContext,
    publication: DesiredPublication,
    record: ObservedPublication,
    unlocked: bool,
    where: str | None,
) -> ResourceChange:
    address = f"publication.{publication.key}"
    changes, _ = diff_fields(ctx, publication.body, record.fields, drift=False)
    # SciCat's PATCH is a $set of whole top-level fields: send each changed one entire.
    patch: JsonObject = {change.name: publication.body[change.name] for change in changes}
    if record.is_registered:
        if changes:
            names = ", ".join(change.name for change in changes)
            ctx.conflict(
                ConflictKind.REGISTERED_CHANGED,
                address,
                f"DOI {record.doi} is {record.status} in SciCat and the manifest changes "
                f"its {names}",
                REGISTERED_HINT,
                where,
            )
            return _change(publication, Action.NOOP, record.doi, field_changes=tuple(changes))
        action = Action.ADOPT if unlocked else Action.NOOP
        reason = "found in SciCat by its marker; not in scisync.lock" if unlocked else None
        return _change(publication, action, record.doi, reason=reason)
    register = publication.spec.register
    if changes:
        reason = f"the record is {record.status} (not registered): its content may change"
        return _change(
            publication,
            Action.UPDATE,
            record.doi,
            reason=reason,
            field_changes=tuple(changes),
            patch=patch,
            register=register,
        )
    if register:
        return _change(
            publication,
            Action.REGISTER,
            record.doi,
            reason=f"register: true; the record is {record.status} now",
        )
    if unlocked:
        return _change(
            publication,
            Action.ADOPT,
            record.doi,
            reason="found in SciCat by its marker; not in scisync.lock",
        )
    return _change(publication, Action.NOOP, record.doi)


def _change(
    publication: DesiredPublication,
    action: Action,
    doi: str | None,
    *,
    reason: str | None = None,
    field_changes: tuple[FieldChange, ...] = (),
    body: JsonObject | None = None,
    patch: JsonObject | None = None,
    register: bool = False,
) -> ResourceChange:
    return ResourceChange(
        kind=ResourceKind.PUBLICATION,
        key=publication.key,
        action=action,
        reason=reason,
        pid=doi,
        marker=publication.marker,
        field_changes=field_changes,
        depends_on=depends_on(publication.body),
        body=body,
        patch=patch or None,
        fields_digest=publication.fields_digest,
        register=register,
    )
