"""The city's yearly turnover targets (年度目标): set by the bureau, seeded by demo."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.clock import local_today
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import YearlyTarget

CITY = "city"
# Targets seeded by ensure_default_targets (the 2020 figure is the city's 2019 plan).
DEFAULT_TARGETS_WAN = {2020: 13_000}
CURRENT_YEAR_TARGET_WAN = 20_000


def target_for(year: int) -> YearlyTarget | None:
    """The city-wide target of a year, if set."""
    return db.session.scalar(
        select(YearlyTarget).where(
            YearlyTarget.year == year, YearlyTarget.scope == CITY
        )
    )


def set_target(year: int, amount_fen: int, user_id: int | None, note: str = ""):
    """Create or change the city target of a year."""
    if not 2000 <= year <= 2100:
        raise ServiceError("年份须在 2000 至 2100 之间。", field="year")
    if amount_fen is None or amount_fen < 0:
        raise ServiceError("请填写有效的目标金额。", field="amount")
    target = target_for(year)
    if target is None:
        target = YearlyTarget(year=year, scope=CITY, amount_fen=amount_fen)
        db.session.add(target)
    target.amount_fen = amount_fen
    target.note = note
    target.set_by_id = user_id
    db.session.flush()
    return target


def ensure_default_targets() -> None:
    """Seed the 2020 target (13,000 万元) and one for this year when missing."""
    wanted = dict(DEFAULT_TARGETS_WAN)
    wanted.setdefault(local_today().year, CURRENT_YEAR_TARGET_WAN)
    for year, wan in wanted.items():
        if target_for(year) is None:
            db.session.add(
                YearlyTarget(year=year, scope=CITY, amount_fen=wan * 1_000_000)
            )
    db.session.flush()


def all_targets() -> list[YearlyTarget]:
    """Every city target, newest year first."""
    return list(
        db.session.scalars(
            select(YearlyTarget)
            .where(YearlyTarget.scope == CITY)
            .order_by(YearlyTarget.year.desc())
        )
    )
