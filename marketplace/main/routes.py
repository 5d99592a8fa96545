"""Home page and a trivial health endpoint."""

from __future__ import annotations

import os

from flask import jsonify, render_template
from flask_login import current_user

from marketplace import permissions
from marketplace.main import bp, services
from marketplace.search.sync import served_state


@bp.route("/")
def index():
    """The public home page: figures and the newest listings."""
    challenges = services.latest_challenges(current_user)
    return render_template(
        "main/index.html",
        figures=services.home_figures(),
        results=services.latest_results(current_user),
        challenges=challenges,
        seekers=permissions.shown_seekers(current_user, challenges),
    )


@bp.route("/healthz")
def healthz():
    """Liveness check that touches nothing (also the load-test ceiling)."""
    return jsonify(status="ok")


@bp.route("/healthz/search")
def search_health():
    """Which index state this worker answers from, with a digest of what it serves.

    Only public facts: the index holds public listings alone, and the digest is
    a hash of their stored fields. `flask search verify --url` asks every worker.
    """
    try:
        return jsonify(status="ok", **served_state())
    except Exception:  # a missing or broken index: said in the answer, as search does
        return jsonify(status="unavailable", pid=os.getpid())
