"""Thin views: manage and download listing attachments and verification documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from marketplace import permissions, uploads
from marketplace.confirm import confirmed
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.files import bp, services
from marketplace.files.forms import ListingFilesForm, OrgDocumentsForm
from marketplace.files.sections import kind_of
from marketplace.models import (
    Challenge,
    ListingAttachment,
    Organisation,
    OrgDocument,
    OrgDocumentKind,
    Result,
)
from marketplace.ndas.services import record_confidential_view

LISTING_MODELS: dict[str, type[Challenge] | type[Result]] = {
    "challenge": Challenge,
    "result": Result,
}


def _detail_url(listing: Challenge | Result) -> str:
    if isinstance(listing, Challenge):
        return url_for("challenges.detail", challenge_id=listing.id)
    return url_for("results.detail", result_id=listing.id)


def _visible_listing(kind: str, listing_id: int) -> Challenge | Result:
    model = LISTING_MODELS.get(kind)
    listing = db.session.get(model, listing_id) if model else None
    # Not found and not visible look the same, so drafts' ids do not leak.
    if listing is None or not permissions.can_view_listing(current_user, listing):
        abort(404)
    return listing


def _uploaded(form: Any, add: Callable[[], list[Any]], back: str, done: str):
    """On a valid POST run the upload verb: the redirect once stored, else None."""
    if not form.validate_on_submit():
        return None
    try:
        rows = add()
    except ServiceError as error:
        db.session.rollback()
        form.attach_error(error)
        return None
    try:
        db.session.commit()
    except BaseException:
        # The files were written before the rows: without rows they must go.
        db.session.rollback()
        uploads.discard(row.stored_name for row in rows)
        raise
    flash(done.format(len(rows)), "success")
    return redirect(back)


def _removed(remove: Callable[[Any, Any], str], row: Any, back: str, done: str):
    """Run a removal verb once the confirmation is ticked, then drop the file."""
    if confirmed():
        stored_name = remove(row, current_user)
        db.session.commit()
        # Only once the row is gone for good may its file go too.
        uploads.discard([stored_name])
        flash(done, "success")
    return redirect(back)


@bp.route("/listings/<kind>/<int:listing_id>", methods=["GET", "POST"])
@login_required
def listing(kind: str, listing_id: int):
    """The owner uploads and removes a challenge's or result's attachments."""
    item = _visible_listing(kind, listing_id)
    permissions.require(permissions.can_manage_listing_files(current_user, item))
    form = ListingFilesForm()
    done = _uploaded(
        form,
        lambda: services.add_listing_files(
            item,
            current_user,
            form.attachments.data,
            confidential=bool(form.confidential.data),
            label=form.label.data or "",
        ),
        url_for("files.listing", kind=kind, listing_id=item.id),
        "已上传 {} 个附件。",
    )
    if done is not None:
        return done
    return render_template(
        "files/listing.html",
        listing=item,
        kind=kind,
        form=form,
        files=services.listing_files(item),
        detail_url=_detail_url(item),
    )


@bp.route("/listing-files/<int:listing_file_id>")
def listing_file(listing_file_id: int):
    """Download a listing's file: public ones with the listing, others when allowed."""
    item = db.session.get(ListingAttachment, listing_file_id)
    owner = services.listing_of(item) if item is not None else None
    if owner is None or not permissions.can_download_listing_file(
        current_user, owner, item
    ):
        abort(404)
    if item.confidential:
        # Opening a confidential file is a view of the confidential part: the
        # poster sees it in the same log (nothing is logged for its own members).
        db.session.commit()
        if record_confidential_view(owner, current_user) is not None:
            db.session.commit()
    return uploads.send_stored(item)


@bp.route("/listing-files/<int:listing_file_id>/remove", methods=["POST"])
@login_required
def remove_listing_file(listing_file_id: int):
    """The owner deletes one attachment (after ticking the confirmation)."""
    item = db.session.get(ListingAttachment, listing_file_id)
    owner = services.listing_of(item) if item is not None else None
    if owner is None or not permissions.can_view_listing(current_user, owner):
        abort(404)
    permissions.require(permissions.can_manage_listing_files(current_user, owner))
    back = url_for("files.listing", kind=kind_of(owner), listing_id=owner.id)
    return _removed(services.remove_listing_file, item, back, "附件已删除。")


def _org(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    return org


@bp.route("/orgs/<int:org_id>", methods=["GET", "POST"])
@login_required
def org(org_id: int):
    """The organisation's admins upload verification documents for the bureau."""
    found = _org(org_id)
    permissions.require(permissions.can_manage_org_documents(current_user, found))
    form = OrgDocumentsForm()
    done = _uploaded(
        form,
        lambda: services.add_org_documents(
            found,
            current_user,
            form.attachments.data,
            OrgDocumentKind(form.kind.data),
        ),
        url_for("files.org", org_id=found.id),
        "已上传 {} 份认证材料。",
    )
    if done is not None:
        return done
    return render_template(
        "files/org.html",
        org=found,
        form=form,
        documents=services.org_documents(found),
    )


@bp.route("/org-documents/<int:document_id>")
@login_required
def org_document(document_id: int):
    """Download a verification document: the bureau and the org's admins only."""
    document = db.session.get(OrgDocument, document_id)
    if document is None or not permissions.can_view_org_documents(
        current_user, document.org
    ):
        abort(404)
    return uploads.send_stored(document)


@bp.route("/org-documents/<int:document_id>/remove", methods=["POST"])
@login_required
def remove_org_document(document_id: int):
    """An org admin deletes one verification document (after the confirmation)."""
    document = db.session.get(OrgDocument, document_id)
    if document is None:
        abort(404)
    allowed = permissions.can_manage_org_documents(current_user, document.org)
    permissions.require(allowed)
    back = url_for("files.org", org_id=document.org_id)
    return _removed(services.remove_org_document, document, back, "认证材料已删除。")
