from __future__ import annotations

import json

from scisync._util.secrets import forget_secrets, register_secret
from scisync.plan.codec import plan_from_json
from scisync.render.json import render_plan_json
from scisync.schemas import schema_violations
from tests.plan.plan_samples import empty_plan, sample_plan


def test_json_output_validates_and_round_trips() -> None:
    text = render_plan_json(sample_plan())
    data = json.loads(text)
    assert schema_violations("plan", data) == []
    assert plan_from_json(data, "<stdout>") == sample_plan()
    assert text.endswith("}\n")
    assert "\n  " in text  # pretty


def test_json_for_no_changes() -> None:
    data = json.loads(render_plan_json(empty_plan()))
    assert data["summary"]["has_changes"] is False
    assert schema_violations("plan", data) == []


def test_json_masks_secrets() -> None:
    register_secret("abcd-secret-1234")
    try:
        plan = sample_plan()
        plan = type(plan)(
            project=plan.project,
            changes=plan.changes,
            fingerprint=plan.fingerprint,
            warnings=("token abcd-secret-1234 in a warning",),
        )
        text = render_plan_json(plan)
        assert "abcd-secret-1234" not in text
        assert json.loads(text)["warnings"] == ["token *** in a warning"]
    finally:
        forget_secrets()
