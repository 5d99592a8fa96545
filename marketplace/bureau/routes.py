"""Thin views for the bureau's queues and the bulk import."""

from __future__ import annotations

import unicodedata

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import permissions
from marketplace.auth import services as accounts
from marketplace.bureau import bp, services
from marketplace.bureau.forms import (
    IMPORT_MAX_BYTES,
    CertificationsForm,
    ImportForm,
    RefuseForm,
    ReviewApproveForm,
    ReviewRejectForm,
    VerifyForm,
)
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.files import sections as file_sections
from marketplace.forms_common import choices
from marketplace.listings import expiry, importing, review
from marketplace.listings.states import REJECT_REASONS, STATUS_LABELS
from marketplace.models import Challenge, Organisation, OrgKind, Result
from marketplace.views import perform_form, submit

REVIEW_MODELS = {"challenge": Challenge, "result": Result}
IMPORT_ORG_KINDS = (OrgKind.ENTERPRISE, OrgKind.UNIVERSITY, OrgKind.INSTITUTE)
SHOWN_IMPORT_ERRORS = 200


def _org(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    if org is None:
        abort(404)
    return org


@bp.route("/verifications")
@permissions.bureau_required
def verifications():
    """Organisations waiting for verification, oldest first."""
    page = db.paginate(permissions.verification_queue(), per_page=30, error_out=False)
    return render_template(
        "bureau/verifications.html",
        page=page,
        verify_form=VerifyForm(),
        refuse_form=RefuseForm(),
        org_documents={
            org.id: file_sections.org_documents(current_user, org) for org in page.items
        },
    )


@bp.route("/verifications/<int:org_id>/verify", methods=["POST"])
@permissions.bureau_required
def verify(org_id: int):
    """Verify an organisation."""
    org = _org(org_id)
    form = VerifyForm()
    perform_form(
        form,
        services.verify_organisation,
        org,
        form.note.data or "",
        success=f"已通过：{org.name}",
        prefix="备注无效：",
    )
    return redirect(url_for("bureau.verifications"))


@bp.route("/verifications/<int:org_id>/refuse", methods=["POST"])
@permissions.bureau_required
def refuse(org_id: int):
    """Refuse an organisation with a reason."""
    org = _org(org_id)
    form = RefuseForm()
    perform_form(
        form,
        services.refuse_organisation,
        org,
        form.reason.data,
        success=f"已退回：{org.name}",
        problem="请填写不予通过的理由（不超过 500 字）。",
        category="warning",
    )
    return redirect(url_for("bureau.verifications"))


@bp.route("/orgs/<int:org_id>/certifications", methods=["GET", "POST"])
@permissions.bureau_required
def certifications(org_id: int):
    """Record which certifications an organisation holds."""
    org = _org(org_id)
    form = CertificationsForm()
    if form.validate_on_submit():
        done, _ = submit(
            form,
            services.set_certifications,
            org,
            form.tags.data or [],
            success="认定信息已更新。",
        )
        if done:
            return redirect(url_for("orgs.profile", org_id=org.id))
    else:
        form.tags.data = [c.tag for c in org.certifications]
    return render_template("bureau/certifications.html", org=org, form=form)


# --- listing review -------------------------------------------------------------


@bp.route("/reviews")
@permissions.bureau_required
def reviews():
    """Challenges and results waiting for review, oldest submission first."""
    challenges, results = review.review_queue()
    return render_template(
        "bureau/reviews.html",
        queues=(("challenge", "技术需求", challenges), ("result", "科技成果", results)),
        link=review.listing_link,
        # What outsiders will read in place of an anonymous poster's name.
        anonymous_names={
            c.id: permissions.anonymous_name(c) for c in challenges if c.anonymous
        },
        reasons=REJECT_REASONS,
        status_labels=STATUS_LABELS,
        approve_form=ReviewApproveForm(),
        reject_form=ReviewRejectForm(),
    )


def _reviewed_listing(kind: str, listing_id: int) -> Challenge | Result:
    model = REVIEW_MODELS.get(kind)
    listing = db.session.get(model, listing_id) if model else None
    if listing is None:
        abort(404)
    expiry.show(listing)
    return listing


@bp.route("/reviews/<kind>/<int:listing_id>/approve", methods=["POST"])
@permissions.bureau_required
def approve_listing(kind: str, listing_id: int):
    """Publish a listing under review."""
    listing = _reviewed_listing(kind, listing_id)
    form = ReviewApproveForm()
    perform_form(
        form,
        review.approve,
        listing,
        current_user,
        form.note.data or "",
        success=f"已通过并发布：{listing.title}",
        prefix="备注无效：",
    )
    return redirect(url_for("bureau.reviews"))


@bp.route("/reviews/<kind>/<int:listing_id>/reject", methods=["POST"])
@permissions.bureau_required
def reject_listing(kind: str, listing_id: int):
    """Send a listing back to its owner with a reason code and a note."""
    listing = _reviewed_listing(kind, listing_id)
    form = ReviewRejectForm()
    perform_form(
        form,
        review.reject,
        listing,
        current_user,
        form.reason_code.data,
        form.note.data or "",
        success=f"已退回：{listing.title}",
        prefix="未退回：",
        category="warning",
    )
    return redirect(url_for("bureau.reviews"))


# --- bulk import -------------------------------------------------------------------


def _import_org(form: ImportForm) -> Organisation:
    if form.org_id.data:
        org = db.session.get(Organisation, int(form.org_id.data))
        if org is not None:
            return org
    if form.org_ref.data:
        return accounts.find_org(form.org_ref.data)
    raise ServiceError("请选择机构，或输入机构名称 / 信用代码。", "org_id")


def _upload_name(name: str | None) -> str:
    # Only shown and audited, never used as a path; keep it short and printable.
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    return clean[-100:] or "upload"


@bp.route("/import", methods=["GET", "POST"])
@permissions.bureau_required
def import_listings():
    """Upload a .jsonl, .csv or .xlsx file of listings for an organisation."""
    form = ImportForm()
    orgs = db.session.scalars(
        select(Organisation)
        .where(Organisation.kind.in_(IMPORT_ORG_KINDS))
        .order_by(Organisation.kind, Organisation.name)
    )
    form.org_id.choices = choices(
        [
            ("", "请选择机构"),
            *((str(o.id), f"{o.name}（{o.kind_label}）") for o in orgs),
        ]
    )
    errors: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.stream.read(IMPORT_MAX_BYTES + 1)
        name = _upload_name(upload.filename)
        try:
            if len(data) > IMPORT_MAX_BYTES:
                raise ServiceError("文件不能超过 10 MB，请拆分后再导入。", "file")
            org = _import_org(form)
            report = importing.import_file(
                org,
                form.kind.data,
                data,
                name,
                draft=form.draft.data,
                user=current_user,
            )
        except importing.ImportRefused as error:
            db.session.rollback()
            errors = error.errors
        except ServiceError as error:
            db.session.rollback()
            form.attach_error(error)
        except IntegrityError:
            # Another import of the same external_ids got in first.
            db.session.rollback()
            form.form_errors.append("同一批数据正在被其他人导入，请稍后重试。")
        else:
            db.session.commit()
            ignored = (
                f"已忽略未知的列：{'、'.join(report.ignored)}。"
                if report.ignored
                else ""
            )
            flash(
                f"{org.name}：新增{importing.KINDS[form.kind.data]} {report.added} 条"
                f"（{'草稿' if form.draft.data else '已发布'}），"
                f"更新 {report.updated} 条。{ignored}",
                "success",
            )
            return redirect(url_for("bureau.import_listings"))
    return render_template(
        "bureau/import.html",
        form=form,
        errors=errors[:SHOWN_IMPORT_ERRORS],
        error_count=len(errors),
        hidden_errors=max(0, len(errors) - SHOWN_IMPORT_ERRORS),
    )
