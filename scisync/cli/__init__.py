"""The ``scisync`` command line: a click group over :mod:`scisync.api`.

Only this package and :mod:`scisync.render` print; :mod:`scisync.cli.boundary` is the
one place where errors become messages and exit codes.
"""

from scisync.cli.main import main, run

__all__ = ["main", "run"]
