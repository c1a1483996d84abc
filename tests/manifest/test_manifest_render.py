"""render: Jinja sandbox, helpers, vars precedence, for_each."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.manifest.manifest_helpers import BASE, RAW, load, problems_of


def test_vars_env_and_glob_helpers(write: Callable[..., Path], tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", "c.txt"):
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / name).write_text("x")
    path = write(
        BASE
        + "vars:\n  group: demo\n  label: '{{ vars.group }}-label'\n"
        + "datasets:\n"
        + RAW
        + "    description: \"{{ vars.label }} {{ env('WHO') }} {{ env('NOPE', default='d') }}\"\n"
        + "    keywords: [\"{{ glob('data/*.csv') | join(',') }}\"]\n"
    )
    manifest = load(path, environ={"WHO": "ada"})
    fields = manifest.datasets[0].fields
    assert fields["description"] == "demo-label ada d"
    assert fields["keywords"] == ["data/a.csv,data/b.csv"]


def test_var_precedence_manifest_then_var_files_then_cli(
    write: Callable[..., Path],
) -> None:
    path = write(
        BASE
        + "vars:\n  a: manifest\n  b: manifest\n  c: manifest\n"
        + "  both: '{{ vars.a }}+{{ vars.b }}'\n"
        + "datasets:\n"
        + RAW
        + "    description: '{{ vars.a }} {{ vars.b }} {{ vars.c }} {{ vars.both }} {{ vars.d }}'\n"
    )
    first = write("a: file1\nb: file1\nd: file1\n", name="one.yaml")
    second = write("b: file2\n", name="two.yaml")
    manifest = load(path, var_files=(first, second), variables={"a": "cli"})
    assert manifest.datasets[0].fields["description"] == "cli file2 manifest cli+file2 file1"


def test_for_each_over_glob_stamps_one_dataset_per_run(
    write: Callable[..., Path], tmp_path: Path
) -> None:
    for run in ("run-2", "run-1"):
        (tmp_path / "runs" / run).mkdir(parents=True)
    body = RAW.replace(
        "  - key: scan-1",
        "  - for_each: \"{{ glob('runs/*') }}\"\n    key: '{{ each | basename }}'",
    )
    path = write(BASE + "datasets:\n" + body + "    files: ['{{ each }}/*.h5']\n")
    manifest = load(path)
    assert [d.key for d in manifest.datasets] == ["run-1", "run-2"]
    assert manifest.datasets[1].files[0].include == ("runs/run-2/*.h5",)
    # every stamped dataset points at the template's position, naming its item
    first, second = (d.location for d in manifest.datasets)
    assert first is not None and second is not None
    assert (first.file, first.line, first.column) == (second.file, second.line, second.column)
    assert second.path == "for_each item 1 ('runs/run-2') of datasets[0]"
    selection = manifest.datasets[1].files[0].location
    assert selection is not None
    assert selection.path == "datasets[1].files[0] (for_each item 1 ('runs/run-2') of datasets[0])"


def test_for_each_over_a_list_of_mappings(write: Callable[..., Path]) -> None:
    body = RAW.replace(
        "  - key: scan-1",
        "  - for_each:\n      - {name: a, t: 10}\n      - {name: b, t: 20}\n"
        "    key: 'scan-{{ each.name }}'",
    )
    path = write(BASE + "datasets:\n" + body + "    scientific_metadata: {t: '{{ each.t }}'}\n")
    manifest = load(path)
    assert [d.key for d in manifest.datasets] == ["scan-a", "scan-b"]
    assert manifest.datasets[1].scientific_metadata == {"t": "20"}


def test_sandbox_refuses_python_internals(write: Callable[..., Path]) -> None:
    path = write(
        BASE
        + "datasets:\n"
        + RAW
        + "    description: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n"
    )
    (problem,) = problems_of(path)
    assert "template refused by the sandbox" in problem
    assert ":17:18: datasets[0].description:" in problem


def test_env_refuses_the_token_variable_named_in_the_manifest(write: Callable[..., Path]) -> None:
    path = write(
        BASE.replace("  sandbox: .sandbox", "  sandbox: .sandbox\n  token_env: MY_TOKEN")
        + "vars:\n  t: \"{{ env('MY_TOKEN') }}\"\n"
    )
    (problem,) = problems_of(path, environ={"MY_TOKEN": "s3cr3t-value"})
    assert "would copy a credential" in problem
    assert "s3cr3t-value" not in problem


def test_every_template_error_is_reported_at_once(write: Callable[..., Path]) -> None:
    path = write(
        BASE
        + "datasets:\n"
        + RAW
        + "    description: '{{ nope }}'\n    comment: '{{ env(\"UNSET_X\") }}'\n"
        + "    license: '{{ broken'\n"
    )
    problems = problems_of(path)
    assert len(problems) == 3, problems
    assert [p.split(": ")[0].rsplit(":", 2)[-2] for p in problems] == ["17", "18", "19"]


def test_a_failed_template_is_not_reported_again_by_the_schema(
    write: Callable[..., Path],
) -> None:
    path = write(BASE + "datasets:\n" + RAW.replace("2026-03-01T12:00:00Z", "'{{ vars.when }}'"))
    (problem,) = problems_of(path)
    assert "has no attribute 'when'" in problem
    assert ":14:20: datasets[0].creation_time:" in problem


def test_templated_numbers_are_told_to_be_literal(write: Callable[..., Path]) -> None:
    path = write(
        BASE.replace("  local:\n    root: ./store", "  sftp:\n    host: h\n    root: /d\n")
        + '    port: "{{ 20 + 2 }}"\n'
    )
    (problem,) = problems_of(path)
    assert "storage.sftp.port: expected an integer, got a string ('22')" in problem
    assert "write it without quotes" in problem
