"""Delivery of awarded challenges: milestones, staged funding, acceptance, exemption."""

from flask import Blueprint

bp = Blueprint("projects", __name__)

from marketplace.projects import (  # noqa: E402,F401
    delivery_routes,
    review_routes,
    routes,
)
