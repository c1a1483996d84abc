"""Where dataset files live: a locally mounted folder or an SFTP server."""

from scisync.storage.base import (
    Checksum,
    DownloadJob,
    ProgressCallback,
    RemotePath,
    RemoteStat,
    Storage,
    UploadJob,
)

__all__ = [
    "Checksum",
    "DownloadJob",
    "ProgressCallback",
    "RemotePath",
    "RemoteStat",
    "Storage",
    "UploadJob",
]
