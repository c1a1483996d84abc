"""The shipped examples validate, and `scisync validate` behaves for users and CI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from scisync.cli import main
from scisync.manifest import KeyRef, PidRef, load_manifest
from tests.manifest.manifest_helpers import BASE, RAW

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (ROOT / "manifests.example").glob("*/scisync.yaml"))


def test_there_are_the_three_examples() -> None:
    assert {p.name for p in EXAMPLES} >= {"quickstart", "ci-pipeline", "reproducible-download"}


@pytest.mark.parametrize("folder", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_validate_exits_0_on_each_example(folder: Path) -> None:
    result = CliRunner().invoke(main, ["-C", str(folder), "validate"])
    assert result.exit_code == 0, result.output
    assert "valid (" in result.output


def test_quickstart_content() -> None:
    folder = ROOT / "manifests.example" / "quickstart"
    manifest = load_manifest([folder / "scisync.yaml"], environ={})
    assert manifest.scicat.sandbox == folder / ".scisync-sandbox"
    (dataset,) = manifest.datasets
    assert dataset.sample == KeyRef("powder-1")
    assert dataset.attachments[0].image.is_file()
    assert len(list(dataset.files[0].base.glob(dataset.files[0].include[0]))) == 3


def test_ci_pipeline_stamps_datasets_per_run_and_reads_the_url_from_env() -> None:
    folder = ROOT / "manifests.example" / "ci-pipeline"
    manifest = load_manifest(
        [folder / "scisync.yaml"], environ={"SCICAT_URL": "https://ci.example.org/api/v3"}
    )
    assert manifest.scicat.url == "https://ci.example.org/api/v3"
    assert manifest.scicat.token_env == "SCICAT_TOKEN"
    keys = [d.key for d in manifest.datasets]
    assert keys == ["raw-run-0041", "raw-run-0042", "reduced-run-0041", "reduced-run-0042"]
    reduced = manifest.datasets[3]
    assert reduced.input_datasets[0] == KeyRef("raw-run-0042")
    assert isinstance(reduced.input_datasets[1], PidRef)
    assert reduced.fields["usedSoftware"] == ["https://example.org/saxs-reduce@2.4.1"]
    (doi,) = manifest.published_data
    assert doi.key == "saxs-reduced-2026.1" and doi.register
    assert doi.datasets == (KeyRef("reduced-run-0041"), KeyRef("reduced-run-0042"))


def test_reproducible_download_selects_by_pid_and_key() -> None:
    folder = ROOT / "manifests.example" / "reproducible-download"
    manifest = load_manifest([folder / "scisync.yaml"], environ={})
    by_key = {d.key: d for d in manifest.downloads}
    assert by_key["our-fits"].dataset == KeyRef("peak-fits")
    assert by_key["raw-images"].dataset == PidRef("20.500.12269/4a7c1f6e-raw-powder-2025")
    assert by_key["raw-logs"].regex == r"^logs/run-\d{4}\.log$"
    cold = by_key["cold-runs"]
    assert cold.dataset is None and cold.max_datasets == 200
    assert cold.query is not None and cold.query.proposal_ids == ("20251234",)
    assert [m.relation for m in cold.query.metadata] == ["<", "range"]


def test_validate_exits_1_with_positions_and_no_traceback(write: Callable[..., Path]) -> None:
    path = write(BASE + "datasets:\n" + RAW.replace("owner_group", "owner_grop"))
    result = CliRunner().invoke(main, ["-C", str(path.parent), "validate"])
    assert result.exit_code == 1
    assert "scisync.yaml:12:5: datasets[0].owner_grop: unknown key 'owner_grop'" in result.output
    assert "did you mean 'owner_group'?" in result.output
    assert "Traceback" not in result.output


def test_validate_with_file_and_vars(write: Callable[..., Path]) -> None:
    path = write(BASE + "datasets:\n" + RAW.replace("Beamline 1", "'{{ vars.bl }}'"), name="m.yaml")
    varfile = write("bl: from-file\n", name="vars.yaml")
    runner = CliRunner()
    missing = runner.invoke(main, ["-C", str(path.parent), "validate", "-f", "m.yaml"])
    assert missing.exit_code == 1
    assert "has no attribute 'bl'" in missing.output
    ok = runner.invoke(
        main, ["-C", str(path.parent), "validate", "-f", "m.yaml", "--var-file", str(varfile)]
    )
    assert ok.exit_code == 0, ok.output
    cli = runner.invoke(main, ["-C", str(path.parent), "validate", "-f", "m.yaml", "--var", "bl=x"])
    assert cli.exit_code == 0, cli.output


def test_validate_without_a_manifest_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "validate"])
    assert result.exit_code == 1
    assert "scisync.yaml: manifest file not found (run `scisync init`" in result.output
    assert "Traceback" not in result.output
    # Following the hint works: init, then the same command succeeds.
    assert CliRunner().invoke(main, ["-C", str(tmp_path), "init"]).exit_code == 0
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "curve.csv").write_text("q,i\n")  # the starter's example needs one
    again = CliRunner().invoke(main, ["-C", str(tmp_path), "validate"])
    assert again.exit_code == 0, again.output


def test_validate_yaml_syntax_error(write: Callable[..., Path]) -> None:
    path = write("version: 1\nproject: [x\n")
    result = CliRunner().invoke(main, ["-C", str(path.parent), "validate"])
    assert result.exit_code == 1
    assert "YAML syntax error" in result.output
    assert "Traceback" not in result.output
