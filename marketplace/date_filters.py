"""Date-range filters read from a query string, as local days over UTC times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from marketplace import clock

BAD_DATE = "日期格式应为 年-月-日，例如 2026-03-01。"
BACKWARDS = "开始日期不能晚于结束日期。"


def read_range(
    args: Mapping[str, str], start_key: str = "start", end_key: str = "end"
) -> tuple[date | None, date | None, str]:
    """(start, end, problem): a bad date or a backwards range is said, not guessed."""
    days: list[date | None] = []
    problem = ""
    for key in (start_key, end_key):
        text = (args.get(key) or "").strip()
        try:
            days.append(date.fromisoformat(text) if text else None)
        except ValueError:
            days.append(None)
            problem = BAD_DATE
    start, end = days
    if start and end and start > end:
        problem = BACKWARDS
    return start, end, problem


def within(column, start: date | None, end: date | None) -> list:
    """Conditions keeping a timestamp column inside the local days [start, end]."""
    conditions = []
    if start:
        conditions.append(column >= clock.local_day_start(start))
    if end:
        conditions.append(column < clock.local_day_start(end + timedelta(days=1)))
    return conditions
