"""A plan as machine-readable JSON (the same data a saved plan holds)."""

from __future__ import annotations

from scisync._util.secrets import redact
from scisync.plan.codec import dumps_plan
from scisync.plan.model import Plan


def render_plan_json(plan: Plan) -> str:
    """Pretty JSON of *plan*, valid against plan.schema.json, secrets masked."""
    return redact(dumps_plan(plan))
