"""Thin views for the bureau's queues."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from marketplace import permissions
from marketplace.bureau import bp, services
from marketplace.bureau.forms import CertificationsForm, RefuseForm, VerifyForm
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import Organisation


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
    )


@bp.route("/verifications/<int:org_id>/verify", methods=["POST"])
@permissions.bureau_required
def verify(org_id: int):
    """Verify an organisation."""
    org = _org(org_id)
    form = VerifyForm()
    if not form.validate_on_submit():
        errors = [e for errs in form.errors.values() for e in errs]
        flash("备注无效：" + "；".join(errors), "danger")
        return redirect(url_for("bureau.verifications"))
    try:
        services.verify_organisation(org, form.note.data or "")
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(f"已通过：{org.name}", "success")
    return redirect(url_for("bureau.verifications"))


@bp.route("/verifications/<int:org_id>/refuse", methods=["POST"])
@permissions.bureau_required
def refuse(org_id: int):
    """Refuse an organisation with a reason."""
    org = _org(org_id)
    form = RefuseForm()
    if not form.validate_on_submit():
        flash("请填写不予通过的理由（不超过 500 字）。", "danger")
        return redirect(url_for("bureau.verifications"))
    try:
        services.refuse_organisation(org, form.reason.data)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(f"已退回：{org.name}", "warning")
    return redirect(url_for("bureau.verifications"))


@bp.route("/orgs/<int:org_id>/certifications", methods=["GET", "POST"])
@permissions.bureau_required
def certifications(org_id: int):
    """Record which certifications an organisation holds."""
    org = _org(org_id)
    form = CertificationsForm()
    if form.validate_on_submit():
        try:
            services.set_certifications(org, form.tags.data or [])
        except ServiceError as error:
            db.session.rollback()
            form.attach_error(error)
        else:
            db.session.commit()
            flash("认定信息已更新。", "success")
            return redirect(url_for("orgs.profile", org_id=org.id))
    else:
        form.tags.data = [c.tag for c in org.certifications]
    return render_template("bureau/certifications.html", org=org, form=form)
