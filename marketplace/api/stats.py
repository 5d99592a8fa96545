"""GET /api/v1/stats/turnover: the bureau's turnover figures as JSON."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request
from flask_login import current_user

from marketplace import permissions
from marketplace.api import bp
from marketplace.api.services import ApiError
from marketplace.exceptions import ServiceError
from marketplace.stats import columns
from marketplace.stats import services as stats

API_BY = ("month", "quarter", "year", "county", "field", "type")


def _date_param(raw: str | None, name: str) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ApiError(
            f"参数 {name} 应为 YYYY-MM-DD 格式的日期。", "invalid_date", name
        ) from exc


@bp.get("/stats/turnover")
def stats_turnover():
    """Turnover of registered contracts by period, county, field or type."""
    if not current_user.is_authenticated:
        return jsonify(
            error="unauthorized", message="需要登录或有效的 API 令牌", status=401
        ), 401
    if not permissions.is_bureau(current_user):
        return jsonify(error="forbidden", message="仅科技局可查看统计", status=403), 403
    by = request.args.get("by") or "month"
    if by not in API_BY:
        raise ApiError(
            "参数 by 应为以下之一：" + "、".join(API_BY) + "。", "invalid_choice", "by"
        )
    start = _date_param(request.args.get("from"), "from")
    end = _date_param(request.args.get("to"), "to")
    try:
        start, end = stats.check_range(start, end)
    except ServiceError as exc:
        raise ApiError(exc.message, "invalid_range") from exc
    result = stats.turnover(start, end, by)
    return jsonify(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "by": by,
            "unit": "fen",
            # What each figure counts, in the words of the page and the exports.
            "labels": columns.pick(columns.FIGURE_LABELS, result["total"]),
            "notes": columns.pick(columns.FIGURE_NOTES, result["total"]),
            "rows": result["rows"],
            "total": result["total"],
        }
    )
