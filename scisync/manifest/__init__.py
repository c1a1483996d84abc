"""The manifest language: ``scisync.yaml`` -> a typed, validated :class:`Manifest`.

>>> from scisync.manifest import load_manifest
>>> manifest = load_manifest([Path("scisync.yaml")], variables={"run": "5"})
"""

from scisync.manifest.model import (
    AttachmentSpec,
    DatasetSpec,
    DownloadSpec,
    FileSelection,
    FilesPolicy,
    KeyRef,
    LocalStorageConfig,
    Manifest,
    PidRef,
    Reference,
    SampleSpec,
    ScicatConfig,
    SftpStorageConfig,
    SourceLocation,
    StorageConfig,
)
from scisync.manifest.pipeline import load_manifest, manifest_digest

__all__ = [
    "AttachmentSpec",
    "DatasetSpec",
    "DownloadSpec",
    "FileSelection",
    "FilesPolicy",
    "KeyRef",
    "LocalStorageConfig",
    "Manifest",
    "PidRef",
    "Reference",
    "SampleSpec",
    "ScicatConfig",
    "SftpStorageConfig",
    "SourceLocation",
    "StorageConfig",
    "load_manifest",
    "manifest_digest",
]
