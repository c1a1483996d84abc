"""``python -m scisync.manifest``: regenerate the files generated from the field tables.

That is scisync/schemas/manifest.schema.json and docs/manifest-fields.md; tests fail
when the committed copies are out of date.
"""

from scisync.manifest.docgen import DOC_PATH, field_reference
from scisync.manifest.schema import SCHEMA_PATH, schema_text

SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
DOC_PATH.write_text(field_reference(), encoding="utf-8")
