"""The plan's stamp walk forks only in a single-threaded process (scisync.desired.stamps):
the deadline thread of the requests made before it (the token check of ``api.connect``)
must be gone when it starts (scisync.scicat.http.Watchdog)."""

from __future__ import annotations

from typing import Any

import pytest

from scisync import api
from scisync.desired.stamps import StampWalk
from scisync.scicat import http

from .applier_setup import Setup


def test_no_deadline_thread_runs_when_the_stamp_walk_starts(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    def walk(*args: Any, **kwargs: Any) -> Any:
        seen.append(http._watchdog.running)
        return StampWalk(*args, **kwargs)

    setup.connection.catalog.verify_token()  # a request just before, as connect makes
    assert http._watchdog.running  # its deadline thread lingers for the next request
    monkeypatch.setattr(api, "StampWalk", walk)
    setup.plan()
    assert seen == [False]
