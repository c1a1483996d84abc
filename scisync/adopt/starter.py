"""``scisync init``: a commented starter manifest, and ``.scisync/`` kept out of git.

The starter validates as written.  Its first line points yaml-language-server (VS Code's
YAML extension, and other editors using it) at the manifest schema shipped inside the
installed scisync package, by a path relative to the manifest, so completion and field
help work without any network access.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from scisync._util.atomicfile import write_atomic
from scisync.errors import ConfigError
from scisync.manifest.schema import SCHEMA_PATH

MANIFEST_NAME = "scisync.yaml"
STATE_IGNORES = (".scisync/",)  # journal, hash cache, apply lock: machine-local
SANDBOX_IGNORES = (".scisync-sandbox/", ".scisync-storage/")  # the sandbox's own data

_STARTER = """\
# yaml-language-server: $schema={schema}
#
# scisync manifest: the datasets (and samples) that should exist in SciCat.
#   scisync validate   check this file (offline)
#   scisync plan       show what would change in SciCat and on the storage
#   scisync apply      make it so, and record it in scisync.lock (commit that file)
# Field reference: docs/manifest-fields.md; the language: docs/manifest.md.
version: 1
project: {project}        # namespace of the markers scisync puts on its datasets; never change it

scicat:
{scicat}
storage:
  local:
    root: ./.scisync-storage # uploaded files are copied here, one folder per dataset
  # sftp: {{host: files.example.org, root: /data/scicat/{project}}}   # keys etc. from ~/.ssh/config

vars:
  group: {group}{pad}# used below as "{{{{ vars.group }}}}"

defaults:
  datasets:                    # every dataset gets these unless it sets them itself
    owner: {owner}
    owner_group: "{{{{ vars.group }}}}"
    contact_email: {email}

datasets:
  # An example: every file under data/ becomes one derived dataset. Rename the key
  # before the first apply (keys are how scisync recognises entries later).
  - key: example-results
    type: derived
    dataset_name: Example results
    description: What these files are, in a sentence.
    creation_time: 2026-01-01T00:00:00Z
    investigator: {owner}
    used_software: [my-analysis@0.1]
    input_datasets: []        # keys of datasets here, or {{pid: ...}} for any SciCat dataset
    files:
      - base: data
        include: ["**/*"]
    scientific_metadata:
      temperature: {{value: 295, unit: K}}

# downloads:                   # files of datasets to fetch: `scisync pull --locked`
#   - key: inputs
#     dataset: {{pid: 20.500.12269/...}}
#     target: inputs
"""

_SANDBOX = """\
  sandbox: .scisync-sandbox  # scisync's embedded SciCat-compatible sandbox (nothing leaves
                             # this machine); for a real SciCat write `url:` instead:
  # url: https://scicat.example.org/api/v3
  # token_env: SCICAT_TOKEN  # the NAME of the variable holding the token; never the token
"""

_URL = """\
  url: {url}
  token_env: SCICAT_TOKEN    # the NAME of the variable holding the token; never the token
"""


@dataclass(frozen=True)
class InitResult:
    manifest: Path
    gitignore: Path
    gitignore_changed: bool
    schema: str  # the $schema reference written on the first line


def project_name(directory: Path) -> str:
    """A valid project name from the folder's name ([a-z0-9._-])."""
    name = re.sub(r"[^a-z0-9._-]+", "-", directory.resolve().name.lower()).strip("-._")
    return name or "my-project"


def schema_reference(directory: Path) -> str:
    """The installed manifest schema, relative to *directory* when that is possible."""
    here = directory.resolve()
    try:
        shared = Path(os.path.commonpath([SCHEMA_PATH, here]))
    except ValueError:  # another drive on Windows
        return SCHEMA_PATH.as_posix()
    if shared == Path(shared.anchor):
        # Nothing in common but the root: a relative path would only hide an absolute one.
        return SCHEMA_PATH.as_posix()
    return Path(os.path.relpath(SCHEMA_PATH, here)).as_posix()


def starter_manifest(project: str, *, url: str | None = None, schema: str) -> str:
    """The text of a starter scisync.yaml (it validates as it is)."""
    scicat = _URL.format(url=url) if url else _SANDBOX
    return _STARTER.format(
        schema=schema,
        project=project,
        scicat=scicat,
        # The embedded sandbox signs in as `ingestor`, which may only create datasets
        # owned by its own group.
        group="ingestor" if url is None else "my-group",
        pad=" " * 8,
        owner="Ada Lovelace",
        email="ada.lovelace@example.org",
    )


def ensure_ignored(gitignore: Path, entries: tuple[str, ...]) -> bool:
    """Add the *entries* missing from *gitignore* (created if needed); True if it changed."""
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    present = {line.strip() for line in text.splitlines()}
    missing = [e for e in entries if e not in present and e.rstrip("/") not in present]
    if not missing:
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    text += "# scisync: machine-local state\n" + "".join(f"{entry}\n" for entry in missing)
    write_atomic(gitignore, text.encode("utf-8"))
    return True


def init_project(
    directory: Path, *, project: str | None = None, url: str | None = None
) -> InitResult:
    """Write a starter scisync.yaml in *directory* and keep scisync's state out of git.

    Refuses (ConfigError) to overwrite an existing scisync.yaml.
    """
    manifest = directory / MANIFEST_NAME
    if manifest.exists():
        raise ConfigError(
            f"{MANIFEST_NAME} already exists; refusing to overwrite it",
            where=str(manifest),
            hint="edit it, or move it away and run `scisync init` again",
        )
    name = project or project_name(directory)
    if not re.fullmatch(r"[a-z0-9._-]+", name):
        raise ConfigError(
            f"{name!r} is not a valid project name",
            where="--project",
            hint="use lower-case letters, digits, '.', '_' and '-'",
        )
    schema = schema_reference(directory)
    text = starter_manifest(name, url=url, schema=schema)
    # O_EXCL: never clobber a manifest that appeared since the check above.
    fd = os.open(manifest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    ignores = STATE_IGNORES + (SANDBOX_IGNORES if url is None else ())
    gitignore = directory / ".gitignore"
    changed = ensure_ignored(gitignore, ignores)
    return InitResult(
        manifest=manifest, gitignore=gitignore, gitignore_changed=changed, schema=schema
    )
