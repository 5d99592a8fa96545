"""Technology contracts (技术合同): recording, registration by the bureau, payments."""

from flask import Blueprint

bp = Blueprint("contracts", __name__)

from marketplace.contracts import (  # noqa: E402,F401
    correction_routes,
    register_routes,
    routes,
)
