"""Verbs on listing attachments and organisation documents.

The files are checked and written by marketplace.uploads; the rows are added
here with their audit events. Removing a row returns its stored name: the caller
discards the file only after the commit, so a rollback never loses a file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from marketplace import audit, glossary, uploads
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ListingAttachment,
    Organisation,
    OrgDocument,
    OrgDocumentKind,
    Result,
)

MAX_LISTING_FILES = 20
MAX_ORG_DOCUMENTS = 10
# Spec sheets and certificates are documents; drawings and scans are images.
LISTING_KINDS = uploads.DOCUMENTS_AND_IMAGES
ORG_DOCUMENT_KINDS = frozenset({"pdf", "png", "jpg", "jpeg"})


class FileAction(glossary.Action):
    """What the file verbs record."""

    LISTING_FILE_ADDED = "listing_file_added", "上传附件"
    LISTING_FILE_REMOVED = "listing_file_removed", "删除附件"
    ORG_DOCUMENT_ADDED = "org_document_added", "上传认证材料"
    ORG_DOCUMENT_REMOVED = "org_document_removed", "删除认证材料"


ACTION_LABELS = glossary.labels(FileAction)
glossary.register_actions(FileAction)


def _chosen(files: Iterable[Any] | None) -> list[Any]:
    """The file inputs that carry a file (an empty input sends a nameless part)."""
    return [f for f in files or [] if f and getattr(f, "filename", "")]


def _store(
    files: Iterable[Any] | None, existing: int, limit: int, too_many: str, kinds
) -> list[uploads.StoredFile]:
    """The chosen files, within the count limit, checked by content and kept."""
    chosen = _chosen(files)
    if not chosen:
        raise ServiceError("请选择要上传的文件。", "attachments")
    if existing + len(chosen) > limit:
        raise ServiceError(too_many, "attachments")
    return uploads.store_all(chosen, kinds)


def _added(rows: list[Any], action: str, obj: Any, user: Any, note) -> None:
    db.session.add_all(rows)
    for row in rows:
        audit.record(action, obj=obj, user=user, note=note(row))


def _removed(row: Any, action: str, obj: Any, user: Any, note: str) -> str:
    audit.record(action, obj=obj, user=user, note=note)
    db.session.delete(row)
    return row.stored_name


def _columns(item: uploads.StoredFile, user: Any) -> dict[str, Any]:
    return {
        "original_name": item.original_name,
        "stored_name": item.stored_name,
        "content_type": item.content_type,
        "size_bytes": item.size_bytes,
        "sha256": item.sha256,
        "uploaded_by_id": user.id,
    }


def _target(listing: Challenge | Result) -> dict[str, int]:
    if isinstance(listing, Challenge):
        return {"challenge_id": listing.id}
    return {"result_id": listing.id}


def listing_files(listing: Challenge | Result) -> list[ListingAttachment]:
    """The files on a challenge or result, oldest first."""
    column = (
        ListingAttachment.challenge_id
        if isinstance(listing, Challenge)
        else ListingAttachment.result_id
    )
    query = select(ListingAttachment).where(column == listing.id)
    return list(db.session.scalars(query.order_by(ListingAttachment.id)))


def listing_of(item: ListingAttachment) -> Challenge | Result | None:
    """The challenge or result a file belongs to."""
    if item.challenge_id is not None:
        return db.session.get(Challenge, item.challenge_id)
    return db.session.get(Result, item.result_id)


def _visibility(confidential: bool) -> str:
    return "保密" if confidential else "公开"


def add_listing_files(
    listing: Challenge | Result,
    user: Any,
    files: Iterable[Any] | None,
    *,
    confidential: bool,
    label: str = "",
) -> list[ListingAttachment]:
    """Check and attach files to a listing, all public or all confidential."""
    too_many = f"每条信息最多 {MAX_LISTING_FILES} 个附件。"
    existing = len(listing_files(listing))
    stored = _store(files, existing, MAX_LISTING_FILES, too_many, LISTING_KINDS)
    rows = [
        ListingAttachment(
            **_target(listing),
            **_columns(item, user),
            label=label.strip()[:100],
            confidential=confidential,
        )
        for item in stored
    ]
    visibility = _visibility(confidential)
    _added(
        rows, "listing_file_added", listing, user,
        lambda row: f"{visibility}附件：{row.original_name}",
    )  # fmt: skip
    return rows


def remove_listing_file(item: ListingAttachment, user: Any) -> str:
    """Delete a listing's file row; returns the stored name to discard after commit."""
    note = f"{_visibility(item.confidential)}附件：{item.original_name}"
    return _removed(item, "listing_file_removed", listing_of(item), user, note)


def org_documents(org: Organisation) -> list[OrgDocument]:
    """An organisation's verification documents, oldest first."""
    query = select(OrgDocument).where(OrgDocument.org_id == org.id)
    return list(db.session.scalars(query.order_by(OrgDocument.id)))


def add_org_documents(
    org: Organisation, user: Any, files: Iterable[Any] | None, kind: OrgDocumentKind
) -> list[OrgDocument]:
    """Check and keep verification documents (scans as PDF or images) of an org."""
    too_many = f"认证材料最多 {MAX_ORG_DOCUMENTS} 份。"
    existing = len(org_documents(org))
    stored = _store(files, existing, MAX_ORG_DOCUMENTS, too_many, ORG_DOCUMENT_KINDS)
    rows = [
        OrgDocument(org_id=org.id, kind=kind, **_columns(item, user)) for item in stored
    ]
    _added(
        rows, "org_document_added", org, user,
        lambda row: f"{kind.label}：{row.original_name}",
    )  # fmt: skip
    return rows


def remove_org_document(document: OrgDocument, user: Any) -> str:
    """Delete a verification document's row; returns the stored name to discard."""
    note = f"{document.kind.label}：{document.original_name}"
    return _removed(document, "org_document_removed", document.org, user, note)
