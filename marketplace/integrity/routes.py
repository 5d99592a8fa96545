"""Thin views over the integrity-record verbs."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace import permissions
from marketplace.extensions import db
from marketplace.integrity import bp, services
from marketplace.integrity.forms import RecordForm, RevokeForm
from marketplace.models import MISCONDUCT_TYPES, IntegrityRecord
from marketplace.views import perform_form, submit

PER_PAGE = 30


def _labels() -> dict:
    return {
        "state_label": services.state_label,
        "record_state": services.record_state,
        "type_labels": MISCONDUCT_TYPES,
        "bars": services.BARS,
    }


def _record(record_id: int) -> IntegrityRecord:
    record = db.session.get(IntegrityRecord, record_id)
    # Not found and not yours look the same: ids of others' records do not leak.
    if record is None or not permissions.can_view_integrity_record(
        current_user, record
    ):
        abort(404)
    return record


@bp.route("/")
@login_required
def index():
    """Every record (bureau), filtered by in force, expired or revoked."""
    permissions.require(permissions.can_record_integrity(current_user))
    state = request.args.get("state", "")
    state = state if state in services.STATES else ""
    query = services.filter_state(
        permissions.visible_integrity_records(current_user), state
    )
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template(
        "integrity/index.html",
        page=page,
        state=state,
        states=services.STATES,
        **_labels(),
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    """Record a misconduct finding against an organisation or a person."""
    permissions.require(permissions.can_record_integrity(current_user))
    form = RecordForm()
    if form.validate_on_submit():
        done, record = submit(
            form,
            services.record_misconduct,
            current_user,
            form.to_data(),
            success="科研诚信记录已保存，并已通知当事方。",
        )
        if done:
            return redirect(url_for("integrity.detail", record_id=record.id))
    return render_template("integrity/new.html", form=form, bars=services.BARS)


@bp.route("/mine")
@login_required
def mine():
    """The records about the user's organisation and about the user."""
    return render_template(
        "integrity/mine.html",
        records=services.party_records(current_user),
        notice=permissions.restriction_notice(current_user),
        **_labels(),
    )


@bp.route("/<int:record_id>")
@login_required
def detail(record_id: int):
    """One record, for the bureau and the party itself."""
    record = _record(record_id)
    return render_template(
        "integrity/detail.html",
        record=record,
        can_revoke=permissions.can_revoke_integrity_record(current_user, record),
        revoke_form=RevokeForm(),
        **_labels(),
    )


@bp.route("/<int:record_id>/revoke", methods=["POST"])
@login_required
def revoke(record_id: int):
    """The bureau revokes a record, giving its reason."""
    record = _record(record_id)
    permissions.require(permissions.can_record_integrity(current_user))
    form = RevokeForm()
    perform_form(
        form,
        services.revoke_record,
        record,
        current_user,
        form.reason.data,
        success="该记录已撤销，当事方已收到通知。",
        prefix="未能撤销：",
    )
    return redirect(url_for("integrity.detail", record_id=record.id))
