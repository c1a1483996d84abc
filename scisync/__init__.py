"""scisync: declarative manifests for the SciCat data catalogue (plan, apply, lock).

The Python API lives in :mod:`scisync.api` (``from scisync import api``; ``api.plan`` and
``api.apply``, since ``scisync.plan`` and ``scisync.apply`` are subpackages).  Loading and
connecting are also reachable here (``scisync.load_project``, ``scisync.connect``),
imported on first use so that ``import scisync`` and the CLI's ``--help`` stay fast.
"""

from typing import Any

from scisync._util.version import VERSION as __version__

_API = frozenset({"load_project", "connect", "check_fresh", "apply_lock"})


def __getattr__(name: str) -> Any:
    if name in _API:
        from scisync import api

        return getattr(api, name)
    raise AttributeError(f"module 'scisync' has no attribute {name!r}")


__all__ = ["__version__", *sorted(_API)]
