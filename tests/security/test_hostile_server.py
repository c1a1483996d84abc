"""A table of hostile servers: every SciCat request ends in bounded time and memory.

Each case points a real :class:`ScicatClient` (or the real CLI) at the hostile SciCat of
``scisync.testing`` over real HTTP on 127.0.0.1, and asserts the outcome: one ApiError
naming the URL and the limit (never another exception), how many requests went out,
that the pause and memory stayed bounded.  The wall-clock bounds are safety nets against
hangs, generous on a shared machine, not performance claims.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scisync._util.limits import HttpLimits
from scisync._util.secrets import forget_secrets
from scisync.errors import ApiError, ScisyncError
from scisync.scicat.client import ScicatClient
from scisync.scicat.http import RetryScheduled, retry_after_seconds
from scisync.testing.hostile import (
    DeepJson,
    Drip,
    DripHeaders,
    EndlessChunked,
    GzipBomb,
    HostileScicat,
    HugeBody,
    Misbehaviour,
    Raw,
    Redirect,
    Reset,
    RetryAfterStorm,
    StallBeforeHeaders,
    WrongContentType,
)

REPO = Path(__file__).parents[2]
DATASETS = "/api/v4/datasets"
TIGHT = HttpLimits(
    connect_timeout=2,
    read_timeout=1.0,
    deadline=2.0,
    max_response_bytes=1024 * 1024,
    retries=2,
    retry_budget=6,
    retry_after_max=0.3,
    backoff_factor=0.0,
    backoff_max=0.1,
)
SAFETY_NET_S = 30.0  # no case may take this long: a hang, not slowness
MEMORY_GROWTH_MB = 150  # a 1 MiB cap must not let a case grow the process by more


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    forget_secrets()


@dataclass(frozen=True)
class Case:
    name: str
    behaviour: Misbehaviour
    expect: str  # a fragment of the error message
    requests: int  # how many requests reached the server
    method: str = "GET"
    limits: HttpLimits = TIGHT
    times: int | None = None  # misbehave only this often
    retries: int | None = None  # retry events expected (default: one per repeated request)


def _nested_errors(depth: int) -> list[object]:
    """class-validator errors whose children nest ``depth`` levels deep."""
    error: dict[str, object] = {"property": "x", "constraints": {"c": "bad"}}
    for _ in range(depth):
        error = {"property": "x", "children": [error]}
    return [error]


def _call(client: ScicatClient, method: str) -> object:
    if method == "GET":
        return client.get_datasets(["p/1"])
    if method == "POST":
        return client.create_dataset({"datasetName": "x"})
    if method == "PATCH":
        return client.patch_dataset("p/1", {"description": "x"}, merge_patch=False)
    raise AssertionError(method)


CASES = [
    Case("drip body, one byte per 0.2 s", Drip(0.2), "within the deadline of 2 s", 1),
    Case("drip headers", DripHeaders(0.2), "within the deadline of 2 s", 1),
    Case("drip body on a write", Drip(0.2), "within the deadline of 2 s", 1, method="PATCH"),
    Case("stall before headers", StallBeforeHeaders(), "nothing arrived for 1 s", 3),
    Case("stall before headers, POST", StallBeforeHeaders(), "the read timeout", 1, "POST"),
    Case("endless chunked body", EndlessChunked(), "larger than the limit of 1048576", 1),
    Case("huge body announced", HugeBody(), "(announced by its Content-Length)", 1),
    Case("huge body unannounced", HugeBody(announce=False), "larger than the limit", 1),
    Case("gzip bomb", GzipBomb(256 * 1024 * 1024), "larger than the limit", 1),
    Case("HTML instead of JSON", WrongContentType(), "not JSON (text/html)", 1),
    Case("JSON nested 100,000 deep", DeepJson(), "not JSON", 1),
    Case(
        "integer of 100,000 digits",
        Raw(body=b"[" + b"9" * 100_000 + b"]"),
        "not JSON",
        1,
    ),
    Case("invalid UTF-8", Raw(body=b'[{"pid": "\xff\xfe"}]'), "not JSON", 1),
    Case("an object where a list belongs", Raw(body=b'{"pid": "p/1"}'), "not a JSON list", 1),
    Case(
        "unknown Content-Encoding",
        Raw(body=b"[]", headers=(("Content-Encoding", "br"),)),
        "is not validly compressed",
        1,
    ),
    Case(
        "broken gzip",
        Raw(body=b"\x1f\x8bnot gzip at all", headers=(("Content-Encoding", "gzip"),)),
        "is not validly compressed",
        1,
    ),
    Case(
        "Content-Length longer than the body",
        Raw(body=b"[]", headers=(("Content-Length", "100"),)),
        "the connection to SciCat broke",
        3,
    ),
    Case("connection reset, GET retried", Reset(), "the connection to SciCat broke", 3),
    Case("connection reset, POST not repeated", Reset(), "broke during POST", 1, "POST"),
    Case("503 storm, GET retried then reported", RetryAfterStorm(), "answered 503", 3),
    Case("503 storm, POST not repeated", RetryAfterStorm(), "answered 503", 1, "POST"),
    Case("429 storm", RetryAfterStorm(429, "0"), "answered 429", 3),
    Case(
        "400 whose message nests 5,000 deep",
        Raw(400, json.dumps({"message": "[" * 5000 + "]" * 5000}).encode()),
        "answered 400",
        1,
    ),
    Case(
        "400 whose validation errors nest 400 deep",
        Raw(400, json.dumps({"message": json.dumps(_nested_errors(400))}).encode()),
        "answered 400",
        1,
    ),
    Case("redirect to another port", Redirect("http://127.0.0.1:9/x"), "another server", 1),
    Case("redirect to another host", Redirect("http://example.org/api"), "another server", 1),
    Case(
        "redirect to https on the same host",
        Redirect("https://127.0.0.1/api/v4/datasets"),
        "another server",
        1,
    ),
    Case(
        "redirect without a Location", Raw(302, b"", ()), "another server (no usable Location)", 1
    ),
    Case("same-origin redirect loop", Redirect(DATASETS), "more than 3 times", 4, retries=0),
    Case("302 answer to a POST", Redirect(DATASETS), "turn it into a GET", 1, "POST"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_answer_ends_in_one_clear_error(case: Case) -> None:
    events: list[RetryScheduled] = []
    with HostileScicat(datasets=[{"pid": "p/1"}], max_seconds=20) as server:
        server.misbehave(case.behaviour, path="/api/v4/datasets", times=case.times)
        client = ScicatClient(
            server.url, "hostile-test-token", limits=case.limits, on_retry=events.append
        )
        rss = _max_rss_mb()
        started = time.monotonic()
        with pytest.raises(ScisyncError) as raised:
            _call(client, case.method)
        elapsed = time.monotonic() - started
        client.close()
        seen = server.requests
    assert isinstance(raised.value, ApiError), raised.value
    text = str(raised.value)
    assert case.expect in text
    assert f"127.0.0.1:{server.port}/api/v4/datasets" in text
    assert "internal error" not in text
    if case.requests:
        assert len(seen) == case.requests, [s.method for s in seen]
        expected = case.requests - 1 if case.retries is None else case.retries
        assert len(events) == expected
    assert elapsed < SAFETY_NET_S
    assert _max_rss_mb() - rss < MEMORY_GROWTH_MB


def test_the_deadline_bounds_a_drip_regardless_of_the_read_timeout() -> None:
    """One byte every 0.3 s resets a per-read timeout forever; the deadline still ends it."""
    limits = HttpLimits(read_timeout=5, deadline=1.5, retries=0)
    with HostileScicat(max_seconds=20) as server:
        server.misbehave(Drip(0.3))
        started = time.monotonic()
        with ScicatClient(server.url, "t", limits=limits) as client, pytest.raises(ApiError):
            client.whoami()
    assert 1.4 < time.monotonic() - started < SAFETY_NET_S


def test_a_same_origin_redirect_is_followed_with_the_token() -> None:
    with HostileScicat(datasets=[{"pid": "p/1"}]) as server:
        server.misbehave(Redirect("/api/v4/datasets?moved=1"), path=DATASETS, times=1)
        with ScicatClient(server.url, "hostile-test-token", limits=TIGHT) as client:
            found = client.get_datasets(["p/1"])
        seen = server.requests
    assert list(found) == ["p/1"]
    assert len(seen) == 2
    assert seen[1].query == "moved=1"
    assert seen[1].headers["authorization"] == "Bearer hostile-test-token"


def test_a_redirect_to_another_server_never_reaches_it() -> None:
    with HostileScicat() as elsewhere, HostileScicat() as server:
        server.misbehave(Redirect(f"{elsewhere.origin}/api/v3/auth/whoami", status=307))
        client = ScicatClient(server.url, "secret-token-x", limits=TIGHT)
        with client, pytest.raises(ApiError, match="another server"):
            client.whoami()
        assert elsewhere.requests == []


def test_retry_after_is_capped_and_each_retry_is_announced_before_the_pause() -> None:
    limits = HttpLimits(retries=2, retry_after_max=0.2, backoff_factor=0)
    events: list[tuple[float, RetryScheduled]] = []
    with HostileScicat() as server:
        server.misbehave(RetryAfterStorm(503, "3600"))
        client = ScicatClient(
            server.url, "t", limits=limits, on_retry=lambda e: events.append((time.monotonic(), e))
        )
        started = time.monotonic()
        with client, pytest.raises(ApiError, match="answered 503"):
            client.whoami()
        seen = server.requests
    assert time.monotonic() - started < 5  # an hour's Retry-After became 0.2 s
    assert [e.attempt for _, e in events] == [1, 2]
    assert all(e.wait_s == pytest.approx(0.2) for _, e in events)
    first = events[0][1]
    assert "503" in first.failure and "/api/v3/auth/whoami" in first.request
    assert "retry 1 in 0.2 s" in first.describe()
    # Announced before the pause: the retry arrived after the event.
    assert seen[1].at >= events[0][0]


def test_the_retry_budget_bounds_a_whole_command() -> None:
    limits = HttpLimits(retries=3, retry_budget=4, backoff_factor=0, retry_after_max=0)
    events: list[RetryScheduled] = []
    with HostileScicat() as server:
        server.misbehave(RetryAfterStorm(503, "0"))
        with ScicatClient(server.url, "t", limits=limits, on_retry=events.append) as client:
            for _ in range(5):
                with pytest.raises(ApiError, match="answered 503"):
                    client.whoami()
        seen = server.requests
    assert len(events) == 4  # the budget, not 5 requests x 3 retries
    assert len(seen) == 5 + 4
    assert [e.budget_left for e in events] == [3, 2, 1, 0]


def test_an_error_page_of_ten_megabytes_is_capped_and_shortened() -> None:
    page = b"<html>" + b"x" * (10 * 1024 * 1024) + b"</html>"
    limits = HttpLimits(max_response_bytes=20 * 1024 * 1024, retries=0)
    with HostileScicat() as server:
        server.misbehave(Raw(500, page, (("Content-Type", "text/html"),)))
        client = ScicatClient(server.url, "t", limits=limits)
        with client, pytest.raises(ApiError) as raised:
            client.whoami()
    assert raised.value.status == 500
    assert len(str(raised.value)) < 1200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("Thu, 03 Dec 2026 00:00:10 GMT", 10.0),
        ("Thu, 03 Dec 2026 00:00:00 GMT", 0.0),  # in the past: no pause
        ("soon", None),
        ("-3", None),
        ("", None),
    ],
)
def test_retry_after_values(header: str, expected: float | None) -> None:
    now = 1796256000.0  # Thu, 03 Dec 2026 00:00:00 GMT
    assert retry_after_seconds(header, now=now) == expected


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="deadline"):
        HttpLimits(deadline=0)
    with pytest.raises(ValueError, match="retries"):
        HttpLimits(retries=-1)


# -- through the real CLI, in a subprocess: what a user sees ----------------------------


@dataclass
class Project:
    root: Path
    server: HostileScicat
    limits: dict[str, float] = field(default_factory=dict)

    def write(self) -> None:
        limits = json.dumps(self.limits)
        (self.root / "scisync.yaml").write_text(
            "version: 1\nproject: p\n"
            f"scicat: {{url: {self.server.url}, limits: {limits}}}\n"
            f"storage: {{local: {{root: {self.root / 'store'}}}}}\n"
            "downloads:\n  - key: d\n    dataset: {pid: p/1}\n    target: data\n"
        )

    def run(self, *args: str) -> tuple[int, str, float]:
        self.write()
        env = {"PATH": "/usr/bin:/bin", "SCICAT_TOKEN": "hostile-cli-token", "NO_COLOR": "1"}
        env["PYTHONPATH"] = str(REPO)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "scisync", "-C", str(self.root), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        return done.returncode, done.stdout + done.stderr, time.monotonic() - started


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with HostileScicat(
        datasets=[{"pid": "p/1", "sourceFolder": "/nowhere"}], max_seconds=60
    ) as server:
        yield Project(tmp_path, server)


CLI_CASES: list[tuple[str, Misbehaviour, dict[str, float], str]] = [
    ("drip", Drip(0.5), {"deadline": 2, "retries": 0}, "within the deadline of 2 s"),
    (
        "endless",
        EndlessChunked(),
        {"max_response_bytes": 1048576},
        "larger than the limit of 1048576",
    ),
    ("redirect", Redirect("http://127.0.0.2:1/api"), {}, "does not follow redirects"),
    ("stall", StallBeforeHeaders(), {"read_timeout": 1, "retries": 0}, "nothing arrived for 1 s"),
]


@pytest.mark.parametrize(
    ("name", "behaviour", "limits", "expect"), CLI_CASES, ids=[c[0] for c in CLI_CASES]
)
def test_the_cli_ends_a_hostile_exchange_with_one_message(
    project: Project, name: str, behaviour: Misbehaviour, limits: dict[str, float], expect: str
) -> None:
    project.server.misbehave(behaviour, path=DATASETS)
    project.limits = limits
    code, output, elapsed = project.run("pull")
    assert code == 1, output
    assert expect in output
    assert f"127.0.0.1:{project.server.port}/api/v4/datasets" in output
    assert "internal error" not in output and "Traceback" not in output
    assert output.count("Error:") == 1
    assert not (project.root / "data").exists()
    assert not (project.root / "scisync.lock").exists()
    assert elapsed < 60


def test_the_cli_says_when_it_retries(project: Project) -> None:
    project.server.misbehave(RetryAfterStorm(503, "0"), path=DATASETS)
    project.limits = {"retries": 2, "backoff_factor": 0}
    code, output, _ = project.run("plan")
    assert code == 1
    retries = [line for line in output.splitlines() if line.startswith("Retrying:")]
    assert len(retries) == 2, output
    assert "failed (503 Service Unavailable); retry 1 in 0.0 s" in retries[0]
    assert "answered 503" in output


def test_a_limit_out_of_range_is_a_manifest_error(project: Project) -> None:
    project.limits = {"deadline": 0}
    code, output, _ = project.run("validate")
    assert code == 1
    assert "limits" in output and "internal error" not in output
