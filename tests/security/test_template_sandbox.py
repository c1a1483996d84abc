"""Templates run in Jinja's immutable sandbox: no Python internals, no mutation, no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from scisync.errors import ManifestError
from scisync.manifest import load_manifest

MANIFEST = """\
version: 1
project: p
scicat: {{sandbox: sb}}
storage: {{local: {{root: store}}}}
vars: {{a: 1}}
datasets:
  - key: k
    type: derived
    owner: o
    owner_group: g
    contact_email: a@b.org
    creation_time: 2026-01-01T00:00:00Z
    investigator: i
    used_software: [x]
    input_datasets: []
    description: "{template}"
"""

REFUSED_BY_SANDBOX = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ lipsum.__globals__ }}",  # the classic route to `os` through a Jinja global
    "{{ glob.__globals__ }}",  # ... and through scisync's own helpers
    "{{ env.__self__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ vars.__class__ }}",
    "{{ vars | attr('__class__') }}",
    "{{ '' | attr('\\\\x5f\\\\x5fclass\\\\x5f\\\\x5f') }}",  # escapes spell __class__
    "{{ '{0.__class__}'.format(1) }}",  # str.format reaching attributes
    "{{ vars.update({'a': 2}) }}",  # the immutable sandbox: no mutation either
    "{{ self._TemplateReference__context }}",
]


def _load(tmp_path: Path, template: str, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "scisync.yaml").write_text(MANIFEST.format(template=template))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ManifestError) as caught:
        load_manifest([tmp_path / "scisync.yaml"])
    return str(caught.value)


@pytest.mark.parametrize("template", REFUSED_BY_SANDBOX)
def test_python_internals_are_refused(
    template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = _load(tmp_path, template, monkeypatch)
    assert "template refused by the sandbox" in message
    assert "datasets[0].description" in message
    assert "<class" not in message  # nothing of Python's object graph is shown


def test_huge_ranges_are_refused_not_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = _load(tmp_path, "{{ range(999999999) | list }}", monkeypatch)
    assert "Range too big" in message


def test_env_refuses_the_credential_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCICAT_TOKEN", "canary-value-1234")
    message = _load(tmp_path, "{{ env('SCICAT_TOKEN') }}", monkeypatch)
    assert "would copy a credential into the manifest" in message
    assert "canary-value-1234" not in message


def test_globs_may_not_climb_out_of_the_manifest_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = _load(tmp_path, "{{ glob('../*') }}", monkeypatch)
    assert "climbs out of its base folder" in message


def test_an_allowed_template_still_renders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "scisync.yaml").write_text(MANIFEST.format(template="a={{ vars.a }}"))
    monkeypatch.chdir(tmp_path)
    manifest = load_manifest([tmp_path / "scisync.yaml"])
    assert manifest.datasets[0].fields["description"] == "a=1"
