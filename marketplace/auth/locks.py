"""The sysadmin's view of failed logins: current locks and counts, and unlocking."""

from __future__ import annotations

from flask import redirect, render_template, url_for

from marketplace.auth import bp, throttle
from marketplace.permissions import sysadmin_required
from marketplace.views import perform


@bp.get("/locks")
@sysadmin_required
def locks():
    """Accounts and addresses locked now or with recent failed logins."""
    rows = throttle.current_rows()
    locked = {row.id for row in rows if throttle.is_locked(row)}
    return render_template("auth/locks.html", rows=rows, locked=locked)


@bp.post("/locks/<int:throttle_id>/unlock")
@sysadmin_required
def unlock(throttle_id: int):
    """Lift a lock and clear its count; the audit log keeps who did it."""
    perform(throttle.unlock, throttle_id, success="已解除锁定，失败次数已清零。")
    return redirect(url_for("auth.locks"))
