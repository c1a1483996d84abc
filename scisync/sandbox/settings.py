"""Settings of the sandbox server, mirroring the SciCat backend's environment variables.

Group lists use the backend's conventions: ``"#all"`` means every authenticated user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

ALL_USERS = "#all"


@dataclass(frozen=True)
class FaultInjection:
    """Make a fraction of requests fail, so clients' retry paths can be tested.

    ``rate`` is the probability that a request meets a fault; which one is drawn from
    ``kinds`` with a RNG seeded by ``seed``, so runs are reproducible:

    - ``"502"`` / ``"503"``: the request IS executed, then its answer is replaced (like a
      proxy timing out after the backend acted: the client cannot know it happened);
    - ``"drop"``: the connection is closed before the request is executed;
    - ``"drop-after"``: the request is executed, then the connection is closed unanswered.

    Login requests are never faulted unless ``include_login`` is set.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ("502", "503", "drop")
    seed: int = 0
    include_login: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - FAULT_KINDS
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; use {sorted(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")


FAULT_KINDS = frozenset({"502", "503", "drop", "drop-after"})


@dataclass(frozen=True)
class SandboxSettings:
    """What the real backend reads from its environment (names in the field comments)."""

    admin_groups: tuple[str, ...] = ("admin",)  # ADMIN_GROUPS
    create_dataset_groups: tuple[str, ...] = (ALL_USERS,)  # CREATE_DATASET_GROUPS
    create_dataset_with_pid_groups: tuple[str, ...] = ("ingestor",)  # ..._WITH_PID_GROUPS
    create_dataset_privileged_groups: tuple[str, ...] = ()  # ..._PRIVILEGED_GROUPS
    delete_groups: tuple[str, ...] = ("admin",)  # DELETE_GROUPS
    sample_groups: tuple[str, ...] = (ALL_USERS,)  # SAMPLE_GROUPS
    sample_privileged_groups: tuple[str, ...] = ()  # SAMPLE_PRIVILEGED_GROUPS
    attachment_groups: tuple[str, ...] = (ALL_USERS,)  # ATTACHMENT_GROUPS
    attachment_privileged_groups: tuple[str, ...] = ()  # ATTACHMENT_PRIVILEGED_GROUPS
    access_groups_static_values: tuple[str, ...] = ()  # ACCESS_GROUPS_STATIC_VALUES
    pid_prefix: str = "20.500.12269"  # PID_PREFIX
    # DATASET_CREATION_VALIDATION_ENABLED + _REGEX: client-supplied pids must match.
    dataset_creation_validation_regex: str | None = None
    # DOI_PREFIX: published data get "<prefix>/<uuid>" (DOI_SHORT_SUFFIX: 10 hex digits).
    # 10.5072 is DataCite's prefix for tests; registering never calls out.
    doi_prefix: str = "10.5072"
    doi_short_suffix: bool = False
    jwt_expires_in: int = 3600  # JWT_EXPIRES_IN, seconds
    max_body_bytes: int = 16 * 1024 * 1024  # MAX_FILE_UPLOAD_SIZE ("16mb")
    functional_accounts_file: str = "functionalAccounts.json"  # relative to the data folder
    # Before backend commit 897cc727 a PATCH through the partial v4 DTO reset size,
    # packedSize and numberOfFiles to 0; off = current master behaviour.
    patch_resets_counters: bool = False
    faults: FaultInjection = FaultInjection()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SandboxSettings:
        """Settings from the backend's environment variable names (unset ones keep defaults).

        Group lists are comma-separated; ``MAX_FILE_UPLOAD_SIZE`` takes ``"16mb"``-style sizes.
        """
        settings = cls()
        changes: dict[str, object] = {}
        for item in fields(cls):
            name = item.name.upper()
            if item.name == "dataset_creation_validation_regex":
                continue  # needs DATASET_CREATION_VALIDATION_ENABLED too; see below
            if name == "MAX_BODY_BYTES":
                name = "MAX_FILE_UPLOAD_SIZE"
            raw = environ.get(name)
            if raw is None:
                continue
            current = getattr(settings, item.name)
            if isinstance(current, tuple):
                changes[item.name] = tuple(g.strip() for g in raw.split(",") if g.strip())
            elif isinstance(current, bool):
                changes[item.name] = raw.strip().lower() in ("1", "true", "yes")
            elif item.name == "max_body_bytes":
                changes[item.name] = parse_size(raw)
            elif isinstance(current, int):
                changes[item.name] = int(raw)
            elif isinstance(current, str):
                changes[item.name] = raw
        enabled = environ.get("DATASET_CREATION_VALIDATION_ENABLED", "").lower() == "true"
        regex = environ.get("DATASET_CREATION_VALIDATION_REGEX")
        changes["dataset_creation_validation_regex"] = regex if enabled and regex else None
        return replace(settings, **changes)  # type: ignore[arg-type]


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?b)?\s*$", re.IGNORECASE)
_UNITS = {None: 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_size(text: str) -> int:
    """Parse an express-style size such as ``"16mb"`` into bytes."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (use e.g. 16mb)")
    unit = match.group(2).lower() if match.group(2) else None
    return int(float(match.group(1)) * _UNITS[unit])
