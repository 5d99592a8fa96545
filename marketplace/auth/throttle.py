"""Account-level login protection kept in the database.

Flask-Limiter's `memory://` store counts in each worker alone, so it cannot stop
password guessing on a multi-worker or multi-node deployment. These rows can:
every worker reads and writes the same failed-login counts, per account (the
e-mail as typed, registered or not, so a lock tells nothing about which
addresses exist) and per client address. After `LOGIN_LOCK_AFTER` failures on
an account, or `LOGIN_ADDRESS_LOCK_AFTER` from one address, inside
`LOGIN_FAILURE_WINDOW_MINUTES`, logins there are refused for
`LOGIN_LOCK_MINUTES`, twice as long at each further lock (up to
`LOGIN_LOCK_MAX_MINUTES`). While locked, the password is not even checked, so
the answer never says whether it was right. A successful login clears its
account's count; an address's count is not cleared by a success, or a guesser
could log into an account of their own between guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from marketplace import audit
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.models import LoginThrottle, ThrottleScope

# A row with no failure for this long starts again from its first lock.
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Lock:
    """A lock in force: what it holds and until when (UTC)."""

    scope: ThrottleScope
    until: datetime


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; they are stored in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _keys(email: str, address: str) -> list[tuple[ThrottleScope, str]]:
    keys = [(ThrottleScope.ACCOUNT, (email or "").strip().lower()[:254])]
    if address:
        keys.append((ThrottleScope.ADDRESS, address[:254]))
    return keys


def _threshold(scope: ThrottleScope) -> int:
    if scope == ThrottleScope.ACCOUNT:
        return max(1, int(current_app.config["LOGIN_LOCK_AFTER"]))
    return max(1, int(current_app.config["LOGIN_ADDRESS_LOCK_AFTER"]))


def _select(scope: ThrottleScope, key: str, *, for_update: bool = False):
    query = select(LoginThrottle).where(
        LoginThrottle.scope == scope, LoginThrottle.key == key
    )
    return query.with_for_update() if for_update else query


def active_lock(email: str, address: str) -> Lock | None:
    """The lock holding this e-mail or this address now, if any."""
    now = utcnow()
    for scope, key in _keys(email, address):
        row = db.session.scalar(_select(scope, key))
        until = _aware(row.locked_until) if row is not None else None
        if until is not None and until > now:
            return Lock(scope, until)
    return None


def _locked_row(scope: ThrottleScope, key: str) -> LoginThrottle:
    # Two workers may meet the first failure of a key at once: the loser of the
    # insert reads the winner's row (locked FOR UPDATE where the database can).
    row = db.session.scalar(_select(scope, key, for_update=True))
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = LoginThrottle(scope=scope, key=key, failures=0, locks=0)
            db.session.add(row)
    except IntegrityError:
        row = db.session.scalar(_select(scope, key, for_update=True))
    return row


def _lock_minutes(locks: int) -> int:
    base = max(1, int(current_app.config["LOGIN_LOCK_MINUTES"]))
    ceiling = max(base, int(current_app.config["LOGIN_LOCK_MAX_MINUTES"]))
    return min(base * 2 ** min(locks - 1, 30), ceiling)


def _count(row: LoginThrottle, now: datetime) -> None:
    window = timedelta(minutes=int(current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]))
    last = _aware(row.last_failed_at) or now
    until = _aware(row.locked_until)
    if now - last > FORGET_AFTER:
        row.locks = 0
    expired = until is not None and until <= now
    stale = now - (_aware(row.first_failed_at) or now) > window
    if row.failures == 0 or expired or stale:
        row.failures = 0
        row.first_failed_at = now
        row.locked_until = None
    row.failures += 1
    row.last_failed_at = now
    if row.failures >= _threshold(row.scope) and row.locked_until is None:
        row.locks += 1
        row.locked_until = now + timedelta(minutes=_lock_minutes(row.locks))
        audit.record(
            "login_locked",
            object_type="login_throttles",
            object_id=row.id,
            note=f"{row.scope.label} {row.key}：{row.failures} 次失败，"
            f"锁定 {_lock_minutes(row.locks)} 分钟",
        )


def record_failure(email: str, address: str) -> Lock | None:
    """Count a failed login for the e-mail and the address; the lock it caused."""
    now = utcnow()
    for scope, key in _keys(email, address):
        row = _locked_row(scope, key)
        _count(row, now)
    db.session.flush()
    return active_lock(email, address)


def record_success(email: str) -> None:
    """A right password clears its account's failures (not its address's)."""
    key = _keys(email, "")[0][1]
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.scope == ThrottleScope.ACCOUNT, LoginThrottle.key == key
        )
    )


def current_rows() -> list[LoginThrottle]:
    """Locks in force and counts still inside the window, locked first."""
    now = utcnow()
    window = timedelta(minutes=int(current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]))
    rows = db.session.scalars(
        select(LoginThrottle).where(
            or_(
                LoginThrottle.locked_until > now,
                LoginThrottle.last_failed_at > now - window,
            )
        )
    ).all()
    return sorted(
        rows,
        key=lambda row: (
            not is_locked(row, now),
            -(_aware(row.last_failed_at) or now).timestamp(),
        ),
    )


def is_locked(row: LoginThrottle, now: datetime | None = None) -> bool:
    """Whether the row's lock is in force."""
    until = _aware(row.locked_until)
    return until is not None and until > (now or utcnow())


def unlock(row_id: int) -> LoginThrottle:
    """The sysadmin lifts a lock and clears its count (audited)."""
    row = db.session.get(LoginThrottle, row_id)
    if row is None:
        raise ServiceError("没有这条登录失败记录，可能已被解除。")
    audit.record(
        "login_unlocked",
        object_type="login_throttles",
        object_id=row.id,
        note=f"{row.scope.label} {row.key}：{row.failures} 次失败",
    )
    db.session.delete(row)
    return row
