"""Uploaded files (bids, deliverables, listings, organisations), checked by content.

Each caller names the kinds it accepts: documents (PDF, DOCX, XLSX) by default,
PNG and JPEG images too where scans and drawings belong. A PDF must parse as a
document with pages; a DOCX or XLSX archive must stay within ATTACHMENT_ZIP's
unpacked size, ratio and member count; an image must decode within MAX_PIXELS.

Files live under UPLOAD_DIR (outside static/) under random names; the name the
user gave is kept only as a sanitised label for the download.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import Response, abort, current_app, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from marketplace.exceptions import ServiceError
from marketplace.file_checks import (
    ATTACHMENT_ZIP,
    BAD_ZIP,
    FileRefused,
    open_checked_zip,
    pdf_problem,
)

DEFAULT_MAX_BYTES = 20 * 2**20
MAX_NAME_CHARS = 120
CHUNK = 64 * 1024
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
DOCUMENTS = frozenset({"pdf", "docx", "xlsx"})
_IMAGE_KINDS = frozenset({"png", "jpg", "jpeg"})
DOCUMENTS_AND_IMAGES = DOCUMENTS | _IMAGE_KINDS
# A scan at 600 dpi of an A3 page is about 70 million pixels; beyond this an
# image is more likely a decompression bomb than a drawing.
MAX_PIXELS = 100_000_000
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": {"png"}, b"\xff\xd8\xff": {"jpg", "jpeg"}}
# The part each Office Open XML kind must contain besides [Content_Types].xml.
_OOXML_MAIN_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}


@dataclass
class StoredFile:
    """A checked upload written to disk, ready to be recorded as an Attachment."""

    stored_name: str
    original_name: str
    content_type: str
    size_bytes: int
    sha256: str


def upload_dir() -> Path:
    """Where attachments are kept (created on first use, private to the app)."""
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def max_bytes() -> int:
    """The largest attachment accepted, in bytes."""
    return int(current_app.config.get("MAX_ATTACHMENT_BYTES", DEFAULT_MAX_BYTES))


def sanitise_filename(name: str | None) -> str:
    """A harmless display name: no path parts or control characters, not too long."""
    name = unicodedata.normalize("NFC", name or "")
    # Browsers on Windows may send the full client path; keep only the last part.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Category C covers control, format (bidi overrides), surrogate and unassigned.
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = f"{stem[: MAX_NAME_CHARS - len(ext) - 1]}.{ext}"
        else:
            name = name[:MAX_NAME_CHARS]
    return name or "附件"


def extension(name: str) -> str:
    """The lower-case extension of a file name, without the dot."""
    _stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def detect_kinds(path: Path) -> set[str]:
    """Which accepted kinds the content is, judged by the bytes alone.

    Raises FileRefused for an archive over ATTACHMENT_ZIP's limits.
    """
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"%PDF-"):
        return {"pdf"}
    for magic, kinds in _IMAGE_MAGIC.items():
        if head.startswith(magic):
            return set(kinds)
    if not zipfile.is_zipfile(path):
        return set()
    try:
        # Only the central directory is read: nothing is extracted, so a
        # zip bomb costs nothing here.
        with open_checked_zip(path, path.stat().st_size, ATTACHMENT_ZIP) as archive:
            names = set(archive.namelist())
    except BAD_ZIP:
        return set()
    if "[Content_Types].xml" not in names:
        return set()
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        return set()  # macro-enabled documents are not accepted
    return {kind for kind, part in _OOXML_MAIN_PART.items() if part in names}


def image_problem(path: Path) -> str | None:
    """Why a file is not a decodable PNG or JPEG image, or None when it is one."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                return "的图像尺寸过大"
            image.verify()  # reads the whole stream: a truncated file fails here
    except Exception:  # Pillow raises many kinds on a hostile file; all mean "no"
        return "不是有效的图片（无法解析）"
    return None


def kinds_text(kinds: Iterable[str], last: str = "、") -> str:
    """The accepted kinds for a message: "PDF、DOCX、XLSX" (or "PDF、DOCX 或 XLSX")."""
    wanted = {"jpg" if k == "jpeg" else k for k in kinds}
    names = [k.upper() for k in ("pdf", "docx", "xlsx", "png", "jpg") if k in wanted]
    if len(names) < 2:
        return "".join(names)
    return "、".join(names[:-1]) + last + names[-1]


def _copy_limited(source: IO[bytes], target: IO[bytes], limit: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge(
                f"附件不能超过 {limit // 2**20} MB，请压缩或拆分后再上传。"
            )
        digest.update(chunk)
        target.write(chunk)
    return size, digest.hexdigest()


def store(
    upload: Any, kinds: frozenset[str] = DOCUMENTS, field: str = "attachments"
) -> StoredFile:
    """Check one upload (a FileStorage) by size and content and write it to disk.

    Raises ServiceError for a wrong type and RequestEntityTooLarge (413) when too big.
    """
    name = sanitise_filename(getattr(upload, "filename", ""))
    ext = extension(name)
    accepted = kinds_text(kinds)
    if ext not in kinds:
        raise ServiceError(f"“{name}”：只接受 {accepted} 格式的附件。", field)
    folder = upload_dir()
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            size, sha256 = _copy_limited(upload.stream, handle, max_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        if size == 0:
            raise ServiceError(f"“{name}”是空文件。", field)
        try:
            found = detect_kinds(temp) & kinds
        except FileRefused as exc:
            raise ServiceError(f"“{name}”{exc.message}，已拒绝。", field) from exc
        if not found:
            raise ServiceError(
                f"“{name}”的内容不是有效的 {kinds_text(kinds, ' 或 ')} 文件，"
                "已拒绝。请上传真实的文件，不要只修改扩展名。",
                field,
            )
        if ext not in found:
            raise ServiceError(
                f"“{name}”的扩展名与文件内容不符，请检查后重新上传。", field
            )
        problem = pdf_problem(temp) if ext == "pdf" else None
        if ext in _IMAGE_KINDS:
            problem = image_problem(temp)
        if problem:
            raise ServiceError(f"“{name}”{problem}，已拒绝。", field)
        stored_name = f"{secrets.token_hex(16)}.{ext}"
        # A rename within one directory is atomic: readers never see half a file.
        os.replace(temp, folder / stored_name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return StoredFile(
        stored_name=stored_name,
        original_name=name,
        content_type=CONTENT_TYPES[ext],
        size_bytes=size,
        sha256=sha256,
    )


def store_all(
    uploads: Iterable[Any],
    kinds: frozenset[str] = DOCUMENTS,
    field: str = "attachments",
) -> list[StoredFile]:
    """Store several uploads; if one is refused, none of them is kept."""
    stored: list[StoredFile] = []
    try:
        for upload in uploads:
            stored.append(store(upload, kinds, field))
    except BaseException:
        discard(s.stored_name for s in stored)
        raise
    return stored


def path_for(stored_name: str) -> Path | None:
    """The file on disk for a stored name, or None if it is missing or odd."""
    if not stored_name or "/" in stored_name or stored_name.startswith("."):
        return None
    path = upload_dir() / stored_name
    return path if path.is_file() else None


def discard(stored_names: Iterable[str]) -> None:
    """Remove stored files (after a refusal, or once their rows are gone)."""
    for stored_name in stored_names:
        path = path_for(stored_name)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def send_stored(stored: Any) -> Response:
    """A stored file (an attachment or deliverable row) as a private download."""
    path = path_for(stored.stored_name)
    if path is None:
        abort(404)
    response = send_file(
        path,
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.original_name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
