"""The account lock holds over 4 gunicorn workers without Redis.

As `make run` serves it: Flask-Limiter on with its `memory://` store, which
counts in each worker alone. The failed logins are counted in the database, so
whichever worker answers, the account is locked after the configured number
of failures, the right password included, and only there: a colleague behind
the same address logs in, and the sysadmin's unlock opens it again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from marketplace.models import OrgKind
from tests.conftest import PASSWORD
from tests.factories import Factory
from tests.http_users import HttpUser, Rows, server_app, skip_other_pass
from tests.test_security_live import ACCESS_FORMAT, served_by

LOCK_AFTER = 6  # not the default 5: the setting is read by every worker
SPREAD = 8  # concurrent requests: more than the 4 workers


def spread(call, count: int = SPREAD) -> list:
    """Run call() count times at once, each on a connection of its own."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def try_login(server, email: str, password: str) -> tuple[int, str]:
    user = HttpUser(server.base_url)
    user.get("/auth/login")
    answer = user.post("/auth/login", {"email": email, "password": password})
    return answer.status_code, answer.text


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_account_lock_holds_across_workers_without_redis(live_server, database):
    skip_other_pass(database)
    server = live_server(
        workers=4,
        database=database,
        env={
            "RATELIMIT_ENABLED": "1",
            "RATELIMIT_STORAGE_URI": "memory://",
            # Each worker's own Flask-Limiter count stays out of the way, so
            # every refusal below is the database's lock.
            "LOGIN_RATE_LIMIT": "100 per minute",
            "LOGIN_LOCK_AFTER": str(LOCK_AFTER),
            "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_FORMAT}'",
        },
    )
    app = server_app(server)
    factory = Factory(app, PASSWORD)
    firm = factory.org(OrgKind.ENTERPRISE)
    victim, colleague = factory.user(firm).email, factory.user(firm).email
    admin = factory.user(factory.org(OrgKind.BUREAU), is_sysadmin=True).email

    failures = spread(lambda: try_login(server, victim, "Wrong-pass-1"), LOCK_AFTER)
    codes = sorted(code for code, _ in failures)
    assert codes == [200] * (LOCK_AFTER - 1) + [429], codes
    assert sum("该账号已暂时锁定" in page for _, page in failures) == 1

    # Locked on every worker, for the right password too, with the same words.
    locked = spread(lambda: try_login(server, victim, PASSWORD))
    assert {code for code, _ in locked} == {429}
    assert all("该账号已暂时锁定" in page for _, page in locked)
    assert all("邮箱或密码不正确" not in page for _, page in locked)
    assert len(served_by(server, "POST /auth/login", 429)) >= 2
    rows = Rows(server)
    try:
        failed, locks, row_id = rows.all(
            "SELECT failures, locks, id FROM login_throttles"
            " WHERE scope = 'account' AND key = :key",
            key=victim,
        )[0]
        assert (failed, locks) == (LOCK_AFTER, 1)

        # The same address is not locked for a colleague with the right password.
        HttpUser(server.base_url, colleague).login()

        # The sysadmin sees the lock and lifts it; then the right password works.
        sysadmin = HttpUser(server.base_url, admin).login()
        page = sysadmin.get("/auth/locks").text
        assert victim in page and "锁定至" in page
        assert sysadmin.post(f"/auth/locks/{row_id}/unlock").status_code == 302
        HttpUser(server.base_url, victim).login()
        assert rows.scalar(
            "SELECT count(*) FROM audit_events WHERE action = 'login_unlocked'"
        ) == 1
    finally:
        rows.close()
