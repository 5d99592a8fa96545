"""Home page and a trivial health endpoint."""

from __future__ import annotations

from flask import jsonify, render_template
from flask_login import current_user

from marketplace.main import bp, services


@bp.route("/")
def index():
    """The public home page: figures and the newest listings."""
    return render_template(
        "main/index.html",
        figures=services.home_figures(),
        results=services.latest_results(current_user),
        challenges=services.latest_challenges(current_user),
    )


@bp.route("/healthz")
def healthz():
    """Liveness check that touches nothing (also the load-test ceiling)."""
    return jsonify(status="ok")
