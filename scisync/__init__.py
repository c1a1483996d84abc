"""scisync: declarative manifests for the SciCat data catalogue (plan, apply, lock)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scisync")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
