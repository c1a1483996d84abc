"""Every bad manifest under bad/ fails with the location and message recorded in it.

Each file starts with one or more ``# expect: LINE:COL message fragment`` lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scisync.errors import ManifestError
from scisync.manifest import load_manifest

BAD = Path(__file__).parent / "bad"
CASES = sorted(BAD.glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (\d+):(\d+) (.+)$")
_WHERE = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): (?P<path>.+)$")


def expectations(path: Path) -> list[tuple[int, int, str]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _EXPECT.match(line)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), match.group(3)))
    return found


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert all(expectations(case) for case in CASES), "every case records an expectation"


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_bad_manifest_reports_location_and_message(case: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest([case], environ={})
    problems = caught.value.problems
    for problem in problems:
        assert problem.where is not None
        match = _WHERE.match(problem.where)
        assert match, f"not file:line:col: path: {problem.where!r}"
        assert Path(match.group("file")).name == case.name
    located = {
        (int(m.group("line")), int(m.group("col"))): problem.format()
        for problem in problems
        if problem.where and (m := _WHERE.match(problem.where))
    }
    for line, col, fragment in expectations(case):
        at = [
            problem.format()
            for problem in problems
            if problem.where and problem.where.split(": ", 1)[0].endswith(f":{line}:{col}")
        ]
        assert any(fragment in text for text in at), (
            f"expected {fragment!r} at {line}:{col}; got {located}"
        )
