"""Planning one sample: create it, update its fields, adopt it, or leave it."""

from __future__ import annotations

from scisync.desired.model import DesiredSample
from scisync.plan.context import PlanContext
from scisync.plan.model import Action, FieldChange, ResourceChange, ResourceKind
from scisync.plan.references import diff_fields


def plan_sample(ctx: PlanContext, sample: DesiredSample) -> ResourceChange:
    address = f"sample.{sample.key}"
    locked = ctx.recorded.samples.get(sample.key)
    current = ctx.observed.samples.get(sample.sample_id)
    ctx.pids[address] = sample.sample_id  # chosen by scisync, so known before apply
    if current is None:
        return ResourceChange(
            kind=ResourceKind.SAMPLE,
            key=sample.key,
            action=Action.CREATE,
            pid=sample.sample_id,
            field_changes=tuple(FieldChange(n, None, v) for n, v in sorted(sample.body.items())),
            body=sample.body,
            fields_digest=sample.fields_digest,
        )
    drift = locked is not None and locked.fields_digest == sample.fields_digest
    changes, patch = diff_fields(
        ctx, sample.body, current.fields, drift=drift, ignore=frozenset({"sampleId"})
    )
    if patch:
        patch["isPublished"] = sample.body["isPublished"]  # the server resets it otherwise
    action = Action.UPDATE if changes else Action.NOOP
    reason = None
    if locked is None:
        action, reason = Action.ADOPT, "found in SciCat by its sample id; not in scisync.lock"
    elif locked.sample_id != sample.sample_id:
        action = Action.UPDATE if changes else Action.ADOPT
        reason = f"sample id changed from {locked.sample_id} to {sample.sample_id}"
    return ResourceChange(
        kind=ResourceKind.SAMPLE,
        key=sample.key,
        action=action,
        reason=reason
        if reason
        else ("drift: changed in SciCat since last apply" if drift and changes else None),
        pid=sample.sample_id,
        field_changes=tuple(changes),
        patch=patch or None,
        fields_digest=sample.fields_digest,
    )
