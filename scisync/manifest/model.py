"""The typed manifest: what the user declared, after rendering and validation.

Nothing downstream of :mod:`scisync.manifest` reads raw YAML dicts; it reads these
frozen dataclasses.  SciCat field names are already translated from the manifest's
snake_case (scitacean's names) to the backend's camelCase (v4 names) in ``fields``.
Local paths are absolute (resolved against the manifest file's folder).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Literal

from scisync._util.jsontypes import Json
from scisync._util.limits import HttpLimits


@dataclass(frozen=True)
class SourceLocation:
    """Where something was written: for messages like ``scisync.yaml:12:5: datasets[0].key``."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    path: str  # manifest path, e.g. "datasets[2].files[0].include"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path}"


@dataclass(frozen=True)
class KeyRef:
    """A reference to another entry managed by this manifest, by its ``key``."""

    key: str


@dataclass(frozen=True)
class PidRef:
    """A reference to a dataset not managed here, by its SciCat pid (or a sample id)."""

    pid: str


Reference = KeyRef | PidRef


@dataclass(frozen=True)
class ScicatConfig:
    """How to reach SciCat.  Exactly one of ``url`` and ``sandbox`` is set.

    Secrets are never here: only the *names* of environment variables that hold them.
    """

    url: str | None  # e.g. "https://scicat.example.org/api/v3"
    sandbox: Path | None  # a local folder: scisync runs its embedded sandbox on it
    token_env: str = "SCICAT_TOKEN"
    username_env: str | None = None
    password_env: str | None = None
    login: Literal["local", "ldap"] = "local"  # which SciCat login the password goes to
    timeout: float = 30.0
    limits: HttpLimits = field(default_factory=HttpLimits)

    @property
    def http_limits(self) -> HttpLimits:
        """The limits, with ``timeout`` as their read timeout (it is the shorthand)."""
        return replace(self.limits, read_timeout=self.timeout)


@dataclass(frozen=True)
class LocalStorageConfig:
    """Files live on a locally mounted path; ``root`` is where new datasets go."""

    root: Path
    hardlink: bool = False
    read_only_roots: tuple[Path, ...] = ()  # downloads may read here too (never written)


@dataclass(frozen=True)
class SftpStorageConfig:
    """Files live on an SFTP server; everything else comes from ~/.ssh/config."""

    host: str
    root: PurePosixPath
    port: int | None = None
    user: str | None = None
    connections: int = 4
    ssh_config: Path | None = None  # instead of ~/.ssh/config
    known_hosts: Path | None = None  # in addition to the ssh config's known hosts
    read_only_roots: tuple[PurePosixPath, ...] = ()  # downloads may read here too


StorageConfig = LocalStorageConfig | SftpStorageConfig


class FilesPolicy(StrEnum):
    """What to do when the files of an already published dataset changed."""

    REFUSE = "refuse"  # stop with an error: published files are never overwritten
    REPLACE = "replace"  # create a new dataset that supersedes the old one


@dataclass(frozen=True)
class FileSelection:
    """Local files to upload: globs (``**`` allowed) relative to ``base``."""

    base: Path
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    follow_symlinks: bool = False  # whether "**" descends into symlinked folders
    # where it was written (e.g. to report a glob that matches nothing); not part of its value
    location: SourceLocation | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AttachmentSpec:
    """An image attached to a dataset (a plot), with its caption."""

    caption: str
    image: Path
    location: SourceLocation | None = field(default=None, compare=False)  # not part of its value


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset the manifest manages."""

    key: str
    type: str  # "raw" | "derived"
    fields: Mapping[str, Json]  # SciCat camelCase field -> value, excluding the ones below
    scientific_metadata: Mapping[str, Json]
    source_folder: PurePosixPath | None  # None: <storage root>/<key>
    files: tuple[FileSelection, ...]
    attachments: tuple[AttachmentSpec, ...]
    sample: Reference | None
    input_datasets: tuple[Reference, ...]
    checksum_algorithm: str = "sha256"  # written to SciCat as chkAlg (hashlib name)
    on_files_changed: FilesPolicy = FilesPolicy.REFUSE
    append_files: bool = False  # added files may be appended to an existing dataset
    location: SourceLocation | None = None


@dataclass(frozen=True)
class SampleSpec:
    """One sample the manifest manages.  ``sample_id`` None: derived from project+key."""

    key: str
    sample_id: str | None
    fields: Mapping[str, Json]  # SciCat camelCase: sampleName, ownerGroup, ...
    location: SourceLocation | None = None


MetadataRelation = Literal["<", "<=", ">", ">=", "==", "range"]


@dataclass(frozen=True)
class MetadataFilter:
    """``scientificMetadata.<key> <relation> <value> [unit]`` (e.g. ``temperature > 4 K``).

    With a unit SciCat compares SI values; ``range`` takes ``(low, high)``, both excluded.
    """

    key: str
    relation: MetadataRelation
    value: float | str | tuple[float, float]
    unit: str | None = None


@dataclass(frozen=True)
class DownloadQuery:
    """Which datasets a query download selects; every given criterion must hold."""

    proposal_ids: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    dataset_type: str | None = None
    owner_groups: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_until: datetime | None = None
    name_pattern: str | None = None
    metadata: tuple[MetadataFilter, ...] = ()


DEFAULT_MAX_DATASETS = 100
"""A query download matching more datasets than this is an error unless raised."""


@dataclass(frozen=True)
class DownloadSpec:
    """Files of one dataset (``dataset``) or of every dataset a query selects (``query``)
    to fetch into a local folder; exactly one of the two is set.  A query download puts
    each dataset into its own subfolder of ``target``.

    Selection: every file when ``include``, ``regex`` and ``files`` are all empty;
    otherwise a file is selected if it matches any include glob, the regex, or is listed.
    """

    key: str
    dataset: Reference | None
    target: Path
    include: tuple[str, ...] = ()
    regex: str | None = None
    files: tuple[str, ...] = ()
    location: SourceLocation | None = None
    query: DownloadQuery | None = None
    max_datasets: int = DEFAULT_MAX_DATASETS


@dataclass(frozen=True)
class PublicationSpec:
    """One SciCat PublishedData record (a DOI) the manifest manages.

    ``metadata`` is the record's ``metadata`` object as SciCat stores it (DataCite names,
    camelCase): the named fields (creators, publisher, publicationYear, resourceType)
    merged with the manifest's free ``metadata`` mapping.
    """

    key: str
    title: str
    abstract: str
    datasets: tuple[Reference, ...]  # the related datasets (SciCat ``datasetPids``)
    metadata: Mapping[str, Json]
    register: bool = False  # register the DOI (irreversible: content is frozen after)
    location: SourceLocation | None = None


@dataclass(frozen=True)
class Manifest:
    """A whole rendered, validated manifest (possibly merged from several files)."""

    version: int
    project: str  # namespace for the markers scisync stores on the datasets it creates
    scicat: ScicatConfig
    storage: StorageConfig | None
    samples: tuple[SampleSpec, ...] = ()
    datasets: tuple[DatasetSpec, ...] = ()
    downloads: tuple[DownloadSpec, ...] = ()
    published_data: tuple[PublicationSpec, ...] = ()
    sources: tuple[Path, ...] = ()  # the manifest files, in load order
    base_dir: Path = field(default_factory=Path.cwd)  # folder relative paths resolve against
    digest: str = ""  # sha256 of the rendered manifest: stale saved plans are detected by it
