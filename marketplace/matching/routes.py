"""Thin views: the search page and the free-text problem box (POSTed, ≤ 2000 字)."""

from __future__ import annotations

import logging

from flask import make_response, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from marketplace import pagecache, permissions
from marketplace.database import READ_ONLY
from marketplace.demands import kept
from marketplace.demands import services as demands
from marketplace.extensions import db
from marketplace.listings.states import STATUS_LABELS
from marketplace.matching import bp, sections, services
from marketplace.matching.forms import MAX_TEXT, ProblemForm
from marketplace.models import Region, TechField
from marketplace.views import form_problem

log = logging.getLogger(__name__)
KINDS = {"challenge": "技术需求", "result": "科技成果"}


def _labels() -> dict[str, dict[str, str]]:
    return {
        "kind": KINDS,
        "field": {f.code: f.name for f in db.session.scalars(select(TechField))},
        "region": {r.code: r.name for r in db.session.scalars(select(Region))},
        "status": STATUS_LABELS,
    }


def _page() -> int:
    try:
        return min(max(int(request.args.get("page", 1)), 1), 500)
    except ValueError:
        return 1


@bp.route("/search")
def search():
    """Keyword search over public listings with facets."""
    text = request.args.get("q", "").strip()[:200]
    labels = _labels()
    filters = {
        name: value
        for name in ("kind", "field", "region", "status")
        if (value := request.args.get(name, "")) in labels[name]
    }
    page = result = None
    matches, notice = [], None
    if text:
        try:
            result, matches = services.search_listings(
                current_user, text, filters, _page()
            )
        except services.SearchUnavailable as error:
            notice = str(error)
            pagecache.skip()
    return render_template(
        "matching/search.html",
        q=text,
        filters=filters,
        result=result,
        matches=matches,
        labels=labels,
        notice=notice,
        page=page,
        status_labels=STATUS_LABELS,
        seekers=sections.match_seekers(current_user, matches),
    )


def _read_only() -> None:
    """Match inside a transaction that only reads.

    On SQLite a POST's transaction takes the write lock up front; a match reads
    for tens of milliseconds and must not keep other writers waiting meanwhile.
    """
    db.session.commit()
    db.session.connection(execution_options={READ_ONLY: True})


def _record_unmet(text: str, best_score: float) -> None:
    """Keep a text that found no strong match, as a lead for the agencies."""
    db.session.commit()  # end the read transaction before writing
    for attempt in (1, 2):
        try:
            demands.record_unmet(text, best_score, current_user, kept.session_key())
            db.session.commit()
            return
        except OperationalError:
            # A GET's transaction begins deferred: a writer in between refuses
            # the upgrade at once (SQLite), and one retry starts afresh.
            db.session.rollback()
            if attempt == 2:
                log.exception("could not record an unmet demand")


@bp.route("/match", methods=["GET", "POST"])
def match():
    """A visitor describes a problem in free text and gets explained matches."""
    posted = request.method == "POST"
    form = ProblemForm() if posted else ProblemForm(request.args, meta={"csrf": False})
    text = form.text.data or ""
    error = None
    if (text or posted) and not form.validate():
        error = form_problem(form)
    outcome, notice = None, None
    if text and not error:
        if posted:
            _read_only()
        try:
            outcome = services.match_text(current_user, text, "result", 10)
        except services.SearchUnavailable as exc:
            notice = str(exc)
            pagecache.skip()
    page = render_template(
        "matching/match.html",
        form=form,
        text=text,
        error=error,
        outcome=outcome,
        notice=notice,
        max_text=MAX_TEXT,
        status_labels=STATUS_LABELS,
        seekers=sections.match_seekers(
            current_user, outcome.matches if outcome else []
        ),
        can_post_challenge=permissions.can_post_challenge(current_user),
    )
    if outcome is not None and not outcome.strong:
        _record_unmet(text, outcome.best_score)
    response = make_response(page)
    if posted:
        # An answer to someone's own text: no cache anywhere keeps it.
        response.headers["Cache-Control"] = "no-store"
    return response
