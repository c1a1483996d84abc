"""Every bound scisync puts on what it reads, in one place (docs/security.md lists them).

A manifest, a ``--var-file``, a lockfile and a saved plan are read from files anyone with
write access to the project can edit, so each is bounded before it is parsed or expanded:
its size in bytes, how deep it nests, how many values it expands to.  The numbers are far
above anything a real project reaches (a lockfile of a million files is about 150 MB) and
far below what would exhaust memory or Python's recursion limit.
"""

from __future__ import annotations

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
