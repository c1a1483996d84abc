"""The installed distribution's version (one place, so nothing imports the package root)."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("scisync")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0+source"
