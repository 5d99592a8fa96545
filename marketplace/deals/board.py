"""The deals board's filters (stage, broker, county, field, date) and columns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import request
from sqlalchemy import Select, or_, select

from marketplace.date_filters import read_range, within
from marketplace.deals.services import STAGE_LABELS
from marketplace.extensions import db
from marketplace.models import Challenge, Deal, Organisation, Result, TechField
from marketplace.reference import region_options
from marketplace.views import id_arg


@dataclass
class BoardFilters:
    """What the board or list is narrowed to, as read from the query string."""

    stage: str = ""
    broker: int | None = None
    county: str = ""
    field: int | None = None
    start: date | None = None
    end: date | None = None
    problem: str = ""

    def args(self) -> dict:
        """The filters as query parameters, for links that keep them."""
        values = {
            "stage": self.stage,
            "broker": self.broker,
            "county": self.county,
            "field": self.field,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}


def read_filters() -> BoardFilters:
    """Parse the query string; unknown stages and counties are ignored."""
    start, end, problem = read_range(request.args)
    stage = request.args.get("stage", "")
    county = request.args.get("county", "").strip()[:12]
    return BoardFilters(
        stage=stage if stage in STAGE_LABELS else "",
        broker=request.args.get("broker", type=id_arg),
        county=county,
        field=request.args.get("field", type=id_arg),
        start=start,
        end=end,
        problem=problem,
    )


def narrow(query: Select, filters: BoardFilters, stage: bool = True) -> Select:
    """The deals query narrowed by every filter (the stage only when asked)."""
    if stage and filters.stage:
        query = query.where(Deal.stage == filters.stage)
    if filters.broker is not None:
        query = query.where(Deal.broker_org_id == filters.broker)
    if filters.county:
        # A deal is in a county when either side is.
        local = select(Organisation.id).where(
            Organisation.region_code == filters.county
        )
        query = query.where(
            or_(Deal.demand_org_id.in_(local), Deal.supply_org_id.in_(local))
        )
    if filters.field is not None:
        challenges = select(Challenge.id).where(Challenge.field_id == filters.field)
        results = select(Result.id).where(Result.field_id == filters.field)
        query = query.where(
            or_(Deal.challenge_id.in_(challenges), Deal.result_id.in_(results))
        )
    return query.where(*within(Deal.created_at, filters.start, filters.end))


def options(visible: Select) -> dict:
    """The filter form's choices; brokers only of the deals the user may see."""
    ids = visible.with_only_columns(Deal.broker_org_id).distinct().scalar_subquery()
    brokers = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(ids))
        .order_by(Organisation.name)
    ).all()
    fields = db.session.execute(
        select(TechField.id, TechField.name).order_by(TechField.sort_order)
    ).all()
    return {
        "brokers": [tuple(r) for r in brokers],
        "counties": region_options(),
        "fields": [tuple(r) for r in fields],
    }


def column_page(key: str) -> int:
    """Which page of a board column to show (`p_<stage>`, from 1)."""
    page = request.args.get(f"p_{key}", type=int) or 1
    return min(max(page, 1), 10_000)
