"""Proposal attachments: the shared upload checks of marketplace.uploads.

Bids and deliverables accept documents only (PDF, DOCX, XLSX), the default of
store() and store_all(); the code lives in marketplace.uploads so that listings
and organisations use the same checks.
"""

from __future__ import annotations

from marketplace.uploads import (
    CONTENT_TYPES,
    DEFAULT_MAX_BYTES,
    MAX_NAME_CHARS,
    StoredFile,
    detect_kinds,
    discard,
    extension,
    max_bytes,
    path_for,
    sanitise_filename,
    send_stored,
    store,
    store_all,
    upload_dir,
)

__all__ = [
    "CONTENT_TYPES",
    "DEFAULT_MAX_BYTES",
    "MAX_NAME_CHARS",
    "StoredFile",
    "detect_kinds",
    "discard",
    "extension",
    "max_bytes",
    "path_for",
    "sanitise_filename",
    "send_stored",
    "store",
    "store_all",
    "upload_dir",
]
