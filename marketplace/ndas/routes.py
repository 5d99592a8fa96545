"""Thin views over the NDA verbs: templates, a listing's NDA, signing, the PDF."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import permissions
from marketplace.challenges import queries as challenge_queries
from marketplace.extensions import db
from marketplace.listings import expiry
from marketplace.models import Challenge, NdaSignature, NdaTemplate, Result
from marketplace.ndas import bp, services
from marketplace.ndas.forms import ListingNdaForm, SignForm, TemplateForm
from marketplace.ndas.pdf import signed_nda_pdf
from marketplace.views import submit

KINDS = {"challenges": Challenge, "results": Result}
KIND_LABELS = {"challenges": "技术需求", "results": "科技成果"}


def _listing(kind: str, listing_id: int) -> Challenge | Result:
    """The listing in its effective state; 404 when missing or not visible."""
    listing = db.session.get(KINDS[kind], listing_id)
    if listing is None:
        abort(404)
    expiry.show(listing)
    if not permissions.can_view(current_user, listing):
        abort(404)
    return listing


def _listing_url(kind: str, listing: Challenge | Result) -> str:
    if kind == "challenges":
        return url_for("challenges.detail", challenge_id=listing.id)
    return url_for("results.detail", result_id=listing.id)


def _template(template_id: int) -> NdaTemplate:
    template = db.session.get(NdaTemplate, template_id)
    if template is None or not permissions.can_view_nda_template(
        current_user, template
    ):
        abort(404)
    return template


# --- the bureau's templates ------------------------------------------------------


@bp.route("/")
@login_required
def index():
    """The bureau's NDA templates."""
    permissions.require(permissions.can_manage_nda_templates(current_user))
    templates = db.session.scalars(
        select(NdaTemplate)
        .where(NdaTemplate.owner_org_id.is_(None))
        .order_by(NdaTemplate.active.desc(), NdaTemplate.name, NdaTemplate.id)
    ).all()
    return render_template("ndas/index.html", templates=templates)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """The bureau writes a new template."""
    permissions.require(permissions.can_manage_nda_templates(current_user))
    form = TemplateForm()
    if form.validate_on_submit():
        done, template = submit(
            form,
            services.create_template,
            current_user,
            form.name.data,
            form.text.data,
            success="保密协议模板已创建（第 1 版）。",
        )
        if done:
            return redirect(url_for("ndas.show", template_id=template.id))
    return render_template("ndas/template_form.html", form=form, template=None)


@bp.route("/<int:template_id>")
@login_required
def show(template_id: int):
    """A template's current text, or an earlier version (?version=n)."""
    template = _template(template_id)
    number = request.args.get("version", type=int)
    version = next((v for v in template.versions if v.number == number), None)
    return render_template(
        "ndas/template.html",
        template=template,
        version=version or template.current,
        can_manage=permissions.can_edit_shared_template(current_user, template),
    )


@bp.route("/<int:template_id>/edit", methods=["GET", "POST"])
@login_required
def edit(template_id: int):
    """The bureau edits a template; a changed text is saved as a new version."""
    template = _template(template_id)
    permissions.require(permissions.can_edit_shared_template(current_user, template))
    form = TemplateForm()
    if request.method == "GET":
        form.name.data, form.active.data = template.name, template.active
        form.text.data = template.current.text if template.current else ""
    if form.validate_on_submit():
        done, version = submit(
            form,
            services.revise_template,
            template,
            current_user,
            form.name.data,
            form.text.data,
            form.active.data,
            success=None,
        )
        if done:
            saved = f"已保存为第 {version.number} 版。" if version else "已保存。"
            flash(saved, "success")
            return redirect(url_for("ndas.show", template_id=template.id))
    return render_template("ndas/template_form.html", form=form, template=template)


# --- a listing's NDA: the owner's page and the signing page ----------------------


def _manage(kind: str, listing_id: int):
    listing = _listing(kind, listing_id)
    permissions.require(permissions.can_view_signatures(current_user, listing))
    may_manage = permissions.can_manage_nda(current_user, listing)
    form = ListingNdaForm()
    form.set_choices(services.choosable_templates())
    own = services.own_template(listing)
    if request.method == "GET":
        form.choice.data = (
            services.OWN if own else str(listing.nda_template_id or "")
        )
        form.own_text.data = own.current.text if own and own.current else ""
    if request.method == "POST":
        permissions.require(may_manage)
        if form.validate_on_submit():
            done, _ = submit(
                form,
                services.choose_nda,
                listing,
                current_user,
                form.choice.data,
                form.own_text.data or "",
                success="保密协议设置已保存。",
            )
            if done:
                return redirect(request.path)
    return render_template(
        "ndas/listing.html",
        kind=kind,
        kind_label=KIND_LABELS[kind],
        listing=listing,
        listing_url=_listing_url(kind, listing),
        form=form,
        may_manage=may_manage,
        current=permissions.current_nda_version(listing),
        signatures=services.signatures(listing),
        # A challenge's page lists its views already; a result's are here.
        views=challenge_queries.confidential_views(listing)
        if kind == "results"
        else None,
    )


@bp.route("/challenges/<int:challenge_id>", methods=["GET", "POST"])
@login_required
def challenge_nda(challenge_id: int):
    """The challenge owner's NDA: choose it, see who signed when."""
    return _manage("challenges", challenge_id)


@bp.route("/results/<int:result_id>", methods=["GET", "POST"])
@login_required
def result_nda(result_id: int):
    """The result owner's NDA: choose it, see who signed when."""
    return _manage("results", result_id)


def _sign(kind: str, listing_id: int):
    listing = _listing(kind, listing_id)
    permissions.require(permissions.may_sign_nda(current_user, listing))
    version = permissions.current_nda_version(listing)
    form = SignForm()
    if request.method == "GET":
        form.version_id.data = str(version.id)
    if form.validate_on_submit():
        done, _ = submit(
            form,
            services.sign_nda,
            listing,
            current_user,
            form.version(),
            form.full_name.data,
            form.position.data,
            request.remote_addr or "",
            success="已签署保密协议，现可查看保密内容。",
        )
        if done:
            return redirect(_listing_url(kind, listing))
        form.version_id.data = str(version.id)
    return render_template(
        "ndas/sign.html",
        kind_label=KIND_LABELS[kind],
        listing=listing,
        listing_url=_listing_url(kind, listing),
        version=version,
        form=form,
        signed=permissions.latest_signature(current_user, listing),
        valid=permissions.has_valid_signature(current_user, listing),
    )


@bp.route("/challenges/<int:challenge_id>/sign", methods=["GET", "POST"])
@login_required
def sign_challenge(challenge_id: int):
    """Sign a challenge's NDA to see its confidential detail."""
    return _sign("challenges", challenge_id)


@bp.route("/results/<int:result_id>/sign", methods=["GET", "POST"])
@login_required
def sign_result(result_id: int):
    """Sign a result's NDA to see its confidential detail."""
    return _sign("results", result_id)


@bp.route("/signatures/<int:signature_id>/pdf")
@login_required
def signature_pdf(signature_id: int):
    """The signed NDA as a PDF: the signer, the owner's members, the bureau."""
    signature = db.session.get(NdaSignature, signature_id)
    if signature is None or not permissions.can_download_signed_nda(
        current_user, signature
    ):
        abort(404)
    listing = (
        db.session.get(Challenge, signature.challenge_id)
        if signature.challenge_id is not None
        else db.session.get(Result, signature.result_id)
    )
    return Response(
        signed_nda_pdf(signature, listing, current_user),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="nda_{signature.id}.pdf"'
        },
    )
