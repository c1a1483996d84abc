"""Attachment images as SciCat stores them: a base64 data URI.

Used when the desired state is built (to digest the image) and when apply uploads it
(reading the image again, and checking it still has the digest the plan was made with).
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path


def thumbnail_data_uri(image: Path) -> str:
    """The attachment thumbnail SciCat stores: a base64 data URI of the image."""
    mime = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(image.read_bytes()).decode()}"
