"""The clock: the current UTC time and the city's local days.

Times are stored in UTC; deadlines, due dates and date filters are the city's local
dates, read in the display time zone (DISPLAY_TIMEZONE, Asia/Shanghai by default).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

# Outside an application (model properties in scripts, demo builders) the city's zone.
DEFAULT_ZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def local_zone() -> ZoneInfo:
    """The display time zone: the app's DISPLAY_TIMEZONE, else the city's."""
    name = DEFAULT_ZONE
    if has_app_context():
        name = current_app.config.get("DISPLAY_TIMEZONE", name)
    return ZoneInfo(name)


def local_today(now: datetime | None = None) -> date:
    """Today's date where the city is (deadlines are local dates), or `now`'s."""
    if now is not None:
        return now.astimezone(local_zone()).date()
    return datetime.now(local_zone()).date()


def local_day_start(day: date) -> datetime:
    """The UTC instant at which a local day begins."""
    return datetime.combine(day, time.min, local_zone()).astimezone(UTC)


def local_date(moment: datetime) -> date:
    """The local date of a stored moment (naive ones are UTC, as SQLite gives them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(local_zone()).date()


def local_moment(day: date, hours: float = 0) -> datetime:
    """A local office-hours moment on a day (9:00 plus hours), in UTC."""
    moment = datetime.combine(day, time(9), local_zone()) + timedelta(hours=hours)
    return moment.astimezone(UTC)
