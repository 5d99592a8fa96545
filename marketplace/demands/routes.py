"""Thin views: publish a problem text as a challenge draft; agencies' leads."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace import audit, permissions
from marketplace.demands import bp, kept, services
from marketplace.extensions import db
from marketplace.forms_common import BaseForm
from marketplace.matching.forms import ProblemForm
from marketplace.models import UnmetDemand
from marketplace.views import attempt, form_problem, perform

LEADS_PAGE = 20
ENTERPRISES_ONLY = (
    "只有企业用户可以把问题描述发布为技术需求。高校、科研院所可以登记科技成果，"
    "技术转移机构可以在“需求线索”中接手企业未满足的需求。"
)


def _refuse_non_enterprise():
    """A clear page (403) for a logged-in user whose organisation cannot post."""
    audit.record_alone("denied", note=f"{request.method} {request.path}")
    return render_template("demands/refused.html", message=ENTERPRISES_ONLY), 403


def _draft_and_edit(demand: UnmetDemand):
    done, challenge = attempt(
        services.draft_challenge,
        demand,
        current_user,
        success="已根据您的描述生成技术需求草稿，请补充技术指标等内容后提交审核。",
    )
    if not done:
        return redirect(url_for("main.index"))
    kept.clear_pending()
    return redirect(url_for("challenges.edit", challenge_id=challenge.id))


@bp.route("/draft", methods=["POST"])
def draft():
    """Turn the problem box's text into a challenge draft, after a login if needed."""
    logged_in = permissions.is_logged_in(current_user)
    if logged_in and not permissions.can_post_challenge(current_user):
        return _refuse_non_enterprise()
    form = ProblemForm()
    if not form.validate_on_submit():
        flash(form_problem(form), "danger")
        return redirect(url_for("matching.match"))
    demand = services.keep_text(form.text.data, current_user, kept.session_key())
    if logged_in:
        return _draft_and_edit(demand)
    kept.set_pending(demand.id)
    db.session.commit()
    return redirect(url_for("demands.kept_text"))


@bp.route("/kept")
def kept_text():
    """The visitor's kept text, and the way to log in or sign up to publish it."""
    demand = services.kept_demand(kept.pending_id(), kept.current_key())
    if demand is not None and demand.challenge_id is not None:
        demand = None
    if demand is not None and permissions.is_logged_in(current_user):
        return redirect(url_for("demands.resume"))
    return render_template(
        "demands/kept.html",
        demand=demand,
        resume_url=url_for("demands.resume"),
    )


@bp.route("/resume")
@login_required
def resume():
    """After logging in or signing up: the kept text becomes the user's draft."""
    if not permissions.can_post_challenge(current_user):
        return _refuse_non_enterprise()
    demand = services.kept_demand(kept.pending_id(), kept.current_key())
    if demand is None:
        kept.clear_pending()
        flash("没有待发布的问题描述（可能已发布或已过期）。", "info")
        return redirect(url_for("challenges.new"))
    return _draft_and_edit(demand)


# --- the agencies' leads --------------------------------------------------------


def _page_number() -> int:
    try:
        return min(max(int(request.args.get("page", "1")), 1), 10_000)
    except ValueError:
        return 1


@bp.route("/")
@login_required
def leads():
    """Unmet demands for transfer agencies and the bureau, newest first."""
    permissions.require(permissions.can_view_leads(current_user))
    query = permissions.visible_unmet_demands(current_user)
    if request.args.get("open") == "1":
        query = query.where(UnmetDemand.taken_at.is_(None))
    page = db.paginate(
        query, page=_page_number(), per_page=LEADS_PAGE, error_out=False, count=True
    )
    user = current_user
    return render_template(
        "demands/leads.html",
        page=page,
        only_open=request.args.get("open") == "1",
        take_form=BaseForm(),
        # The submitters' profiles and the drafted challenges this viewer may open.
        linked_orgs={
            d.org.id
            for d in page.items
            if d.org and permissions.can_view_org(user, d.org)
        },
        linked_challenges={
            d.challenge.id
            for d in page.items
            if d.challenge and permissions.can_view_challenge(user, d.challenge)
        },
        can_take=permissions.can_take_leads(user),
    )


@bp.route("/<int:demand_id>/take", methods=["POST"])
@login_required
def take(demand_id: int):
    """A transfer agency takes a lead (接手)."""
    permissions.require(permissions.can_take_leads(current_user))
    demand = db.session.get(UnmetDemand, demand_id)
    if demand is None:
        abort(404)
    if not BaseForm().validate_on_submit():
        abort(400)
    perform(services.take_lead, demand, current_user, success="已接手该需求线索。")
    return redirect(url_for("demands.leads"))


# Agencies read the texts with contact details hidden, wherever they are shown.
bp.app_template_global("redact_demand")(services.redact)
