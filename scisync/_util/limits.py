"""Every bound scisync puts on what it reads, in one place (docs/security.md lists them).

A manifest, a ``--var-file``, a lockfile and a saved plan are read from files anyone with
write access to the project can edit, so each is bounded before it is parsed or expanded:
its size in bytes, how deep it nests, how many values it expands to.  The numbers are far
above anything a real project reaches (a lockfile of a million files is about 150 MB) and
far below what would exhaust memory or Python's recursion limit.

Servers are bounded here too: :class:`HttpLimits` (every request to SciCat: time, bytes,
retries; manifest ``scicat.limits``) and :class:`SshLimits` (SFTP connections).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

MIB = 1024 * 1024

#: Size of one manifest or --var-file, in bytes (the largest example manifest is ~10 kB).
MAX_MANIFEST_BYTES = 16 * MIB
#: Nesting of mappings and lists in a manifest (Python's recursion limit is ~1,000).
MAX_MANIFEST_DEPTH = 64
#: Values (scalars, lists, mappings) a manifest file expands to once YAML aliases and
#: merge keys are resolved: stops "billion laughs" documents before they are expanded.
MAX_MANIFEST_VALUES = 1_000_000
#: Items one ``for_each`` may stamp out.
MAX_FOR_EACH_ITEMS = 10_000
#: Characters or items a template's ``*`` may build (``{{ 'x' * 10**9 }}``), and bits a
#: template's ``**`` may build (``{{ 9 ** 9 ** 9 }}``).
MAX_TEMPLATE_VALUE = 1_000_000
MAX_TEMPLATE_INT_BITS = 100_000

#: Size of scisync.lock and of a saved plan, in bytes.
MAX_LOCKFILE_BYTES = 512 * MIB
MAX_PLAN_BYTES = 512 * MIB
#: Nesting of JSON objects and arrays in a lockfile or saved plan (a lockfile nests 5 deep,
#: a dataset's scientific metadata in a plan a little deeper).
MAX_JSON_DEPTH = 128

#: Local file names: one path component, and a whole dataset-relative path, in UTF-8
#: bytes (Linux's NAME_MAX and PATH_MAX).
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096


@dataclass(frozen=True)
class HttpLimits:
    """Bounds on every HTTP request to SciCat (manifest: ``scicat.limits``)."""

    connect_timeout: float = 10.0
    """Seconds to open a TCP (and TLS) connection."""
    read_timeout: float = 30.0
    """Seconds of silence allowed while waiting for any byte of an answer."""
    deadline: float = 300.0
    """Seconds one request may take from sending to the last byte of its answer.

    A server dripping one byte a second resets no clock: this bound holds regardless.
    """
    max_response_bytes: int = 64 * MIB
    """Largest answer body (after decompression) read into memory."""
    retries: int = 4
    """Retries of one request (connection failures, timeouts, 429 and 5xx answers)."""
    retry_budget: int = 20
    """Retries for a whole command, across all its requests."""
    retry_after_max: float = 60.0
    """Longest pause a ``Retry-After`` header can impose before a retry (longer is capped)."""
    backoff_factor: float = 0.5
    """Seconds of the first backoff pause; each further retry doubles it (plus jitter)."""
    backoff_max: float = 30.0
    """Longest backoff pause between two retries."""
    max_redirects: int = 3
    """Redirects followed within the same scheme, host and port (never to another)."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value < 0 or value != value:  # negative or NaN
                raise ValueError(f"{field.name} must be a non-negative number, not {value!r}")
        for name in ("connect_timeout", "read_timeout", "deadline", "max_response_bytes"):
            if getattr(self, name) == 0:
                raise ValueError(f"{name} must be positive")


HTTP_LIMIT_NAMES = tuple(field.name for field in fields(HttpLimits))
"""The keys of ``scicat.limits`` in a manifest."""


@dataclass(frozen=True)
class SshLimits:
    """Bounds on SFTP connections (what :func:`scisync.api.connect` opens storage with)."""

    connect_timeout: float = 15.0
    """Seconds for each of: the TCP connection, the server's SSH banner, the sign-in."""
    io_timeout: float = 120.0
    """Seconds of silence allowed on an open SFTP channel before the operation fails."""
    keepalive_interval: int = 30
    """Seconds between SSH keepalive messages, so a dead link is noticed."""
    min_transfer_rate: float = 10 * 1024
    """Bytes per second an SFTP connection must at least move while scisync waits on it.

    The I/O timeout only catches silence: a server trickling one byte a second resets it
    forever.  Bytes are counted per SSH packet (at most 256 KiB), so this times
    :attr:`stall_window` must exceed a packet, or a transfer at exactly this rate could be
    taken for a stalled one."""
    stall_window: float = 60.0
    """Seconds over which :attr:`min_transfer_rate` is averaged."""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not value > 0:  # zero, negative or NaN
                raise ValueError(f"{field.name} must be a positive number, not {value!r}")
        if self.min_transfer_rate * self.stall_window < 2 * SSH_PACKET_BYTES:
            raise ValueError(
                "min_transfer_rate x stall_window must be at least two SSH packets "
                f"({2 * SSH_PACKET_BYTES} bytes)"
            )


SSH_PACKET_BYTES = 256 * 1024
"""The largest SSH packet scisync accepts (OpenSSH's own limit; see storage/sftp/stream.py)."""
