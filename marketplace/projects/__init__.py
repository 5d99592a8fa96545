"""Delivery of awarded challenges: milestones, staged funding, acceptance, exemption."""

from flask import Blueprint

bp = Blueprint("projects", __name__)

from marketplace.projects import routes  # noqa: E402,F401
