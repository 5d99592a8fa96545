"""The security baseline as only a real server with 4 workers can show it.

tests/test_security.py checks the same rules inside one process; here every
check spreads its requests over gunicorn's workers (concurrent requests on new
connections: a sync worker serves one at a time), so a rule that lived in one
worker's memory would fail: the login rate limit kept in Redis, sessions
revoked on logout or password change, CSRF tokens, cookie flags, security
headers, and a forced error page without a traceback.
"""

from __future__ import annotations

import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.http_users import ALERT, HttpUser, Rows, make_people, server_app
from tests.live_server import LiveServer, drop_database


def _redis_url() -> str:
    """TEST_REDIS_URL, one database further down for each pytest-xdist worker.

    Each worker flushes its own database: CI's two passes start at 15 and 14,
    so with two workers each they use 15, 13 and 14, 12.
    """
    url = os.environ.get("TEST_REDIS_URL", "").strip() or "redis://127.0.0.1:6379/15"
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    base, _, number = url.rpartition("/")
    return f"{base}/{(int(number or 0) - 2 * worker) % 16}"


REDIS_URL = _redis_url()
SPREAD = 8  # concurrent requests per check: more than the 4 workers
ACCESS_FORMAT = '%(p)s "%(r)s" %(s)s'


def redis_client():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {error}")
    return client


@pytest.fixture(scope="module")
def redis_db():
    client = redis_client()
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, redis_db):
    """One server for the module: rate limits on, kept in Redis; access log pids."""
    from tests.conftest import TEST_DATABASE_URL, _normalised_pg_url
    from tests.live_server import create_database

    root = tmp_path_factory.mktemp("security-live")
    if TEST_DATABASE_URL:
        url = create_database(_normalised_pg_url())
    else:
        url = f"sqlite:///{root / 'live.db'}"
    live = LiveServer(
        root,
        url,
        workers=4,
        env_extra={
            "RATELIMIT_ENABLED": "1",
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            # Flask-Limiter's rate alone here; the account lock kept in the
            # database has tests/test_login_throttle_live.py.
            "LOGIN_LOCK_AFTER": "100",
            "LOGIN_ADDRESS_LOCK_AFTER": "1000",
            "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_FORMAT}'",
        },
    )
    try:
        live.prepare().start()
        app = server_app(live)
        with app.app_context():
            live.people = make_people(
                app, {"firm": ("enterprise", 6), "lab": ("institute", 1)}
            )
        yield live
    finally:
        live.stop()
        if TEST_DATABASE_URL:
            drop_database(url)


def emails(server) -> list[str]:
    return list(server.people["firm"]["emails"])


def spread(call, count: int = SPREAD) -> list:
    """Run call() count times at once, each on a connection of its own."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def with_cookies(server, cookies: dict, path: str) -> requests.Response:
    """A fresh connection carrying only these cookies."""
    return requests.get(
        server.url(path), cookies=cookies, allow_redirects=False, timeout=60
    )


def logged_in(response: requests.Response) -> bool:
    if response.status_code == 302:
        assert "/auth/login" in response.headers["Location"]
        return False
    assert response.status_code == 200, response.status_code
    return True


def served_by(server, request_line: str, status: int) -> set[str]:
    """The worker pids that answered requests starting with this line so."""
    pids = set()
    for line in Path(server.log_path).read_text(errors="replace").splitlines():
        found = re.match(r'<(\d+)> "([^"]*)" (\d+)$', line)
        if (
            found
            and found.group(2).startswith(request_line)
            and int(found.group(3)) == status
        ):
            pids.add(found.group(1))
    return pids


def failed_login(server, email: str) -> int:
    user = HttpUser(server.base_url)
    user.get("/auth/login")
    return user.post(
        "/auth/login", {"email": email, "password": "Wrong-pass1"}
    ).status_code


def test_login_limit_holds_across_workers(server, redis_db):
    redis_db.flushdb()
    email = emails(server)[0]
    try:
        # LOGIN_RATE_LIMIT is 10 per minute for an address and e-mail: ten
        # failures at once, on 4 workers.
        assert spread(lambda: failed_login(server, email), 10) == [200] * 10
        # The eleventh is refused whichever worker takes it, even with the
        # right password.
        refused = spread(lambda: failed_login(server, email))
        assert refused == [429] * SPREAD
        user = HttpUser(server.base_url)
        user.get("/auth/login")
        right = user.post("/auth/login", {"email": email, "password": PASSWORD})
        assert right.status_code == 429
        assert "过于频繁" in right.text
        assert_security_headers(right)
        # Counted per address and e-mail: a colleague behind the same address
        # still logs in with the right password.
        HttpUser(server.base_url, emails(server)[5]).login()
        # Both the counted failures and the refusals came from several workers.
        assert len(served_by(server, "POST /auth/login", 200)) >= 2
        assert len(served_by(server, "POST /auth/login", 429)) >= 2
        assert redis_db.dbsize() > 0  # the counters live in Redis, not a worker
    finally:
        redis_db.flushdb()


def test_cookie_flags_in_development(server):
    user = HttpUser(server.base_url)
    user.get("/auth/login")
    response = user.post(
        "/auth/login",
        {"email": emails(server)[1], "password": PASSWORD, "remember": "y"},
    )
    assert response.status_code == 302
    cookies = response.raw.headers.getlist("Set-Cookie")
    for name in ("mp_session=", "remember_token="):
        cookie = next(c for c in cookies if c.startswith(name))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
        assert "Secure" not in cookie, cookie
    # The cookie one worker signed is honoured by every worker.
    jar = user.session.cookies.get_dict()
    assert all(spread(lambda: logged_in(with_cookies(server, jar, "/notifications/"))))


def test_logout_kills_the_old_cookies_on_every_worker(server):
    user = HttpUser(server.base_url)
    user.get("/auth/login")
    user.post(
        "/auth/login",
        {"email": emails(server)[2], "password": PASSWORD, "remember": "y"},
    )
    stolen = user.session.cookies.get_dict()
    remember = {"remember_token": stolen["remember_token"]}
    assert all(
        spread(lambda: logged_in(with_cookies(server, stolen, "/notifications/")))
    )
    assert logged_in(with_cookies(server, remember, "/notifications/"))
    user.get("/notifications/")
    assert user.post("/auth/logout").status_code == 302
    for cookies in (stolen, remember):
        answers = spread(
            lambda c=cookies: logged_in(with_cookies(server, c, "/notifications/"))
        )
        assert not any(answers)


def test_password_change_kills_other_sessions_on_every_worker(server, redis_db):
    email = emails(server)[3]
    here = HttpUser(server.base_url, email).login()
    there = HttpUser(server.base_url, email).login()
    old_here = here.session.cookies.get_dict()
    here.get("/auth/password")
    changed = here.post(
        "/auth/password",
        {"current": PASSWORD, "password": "Changed-pass9", "confirm": "Changed-pass9"},
    )
    assert changed.status_code == 302
    # Rotated: this browser stays logged in, with a new session, on every worker.
    fresh = here.session.cookies.get_dict()
    assert fresh != old_here
    assert all(
        spread(lambda: logged_in(with_cookies(server, fresh, "/notifications/")))
    )
    for cookies in (old_here, there.session.cookies.get_dict()):
        answers = spread(
            lambda c=cookies: logged_in(with_cookies(server, c, "/notifications/"))
        )
        assert not any(answers)
    assert HttpUser(server.base_url, email).login(password="Changed-pass9")
    redis_db.flushdb()


def test_csrf_refused_without_a_token_accepted_with_one_on_every_worker(server):
    user = HttpUser(server.base_url, emails(server)[4]).login()
    other = HttpUser(server.base_url, emails(server)[5]).login()
    user.get("/notifications/")
    other.get("/notifications/")
    jar = user.session.cookies.get_dict()

    def post(data: dict) -> requests.Response:
        return requests.post(
            server.url("/notifications/read-all"),
            data=data,
            cookies=jar,
            allow_redirects=False,
            timeout=60,
        )

    for data in ({}, {"csrf_token": other.token}, {"csrf_token": "forged"}):
        answers = spread(lambda d=data: post(d))
        assert {a.status_code for a in answers} == {400}
        assert all("CSRF" in a.text for a in answers)
        assert_security_headers(answers[0])
    accepted = spread(lambda: post({"csrf_token": user.token}))
    assert {a.status_code for a in accepted} == {302}
    # A logout without a token is refused and the session stays alive.
    assert (
        requests.post(
            server.url("/auth/logout"), cookies=jar, allow_redirects=False, timeout=60
        ).status_code
        == 400
    )
    assert logged_in(with_cookies(server, jar, "/notifications/"))


def assert_security_headers(response: requests.Response) -> None:
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


SECURED_PATHS = [
    "/",
    "/healthz",
    "/auth/login",
    "/challenges/",
    "/results/",
    "/orgs/",
    "/search?q=电池",
    "/match?text=电池热管理",
    "/api/v1/openapi.json",
    "/api/v1/search?q=电池",
    "/api/v1/no-such-thing",
    "/static/css/app.css",
    "/no-such-page",
    "/auth/logout",  # 405 to a GET
    "/contracts/",  # a redirect to the login page
]


def test_security_headers_on_every_worker(server):
    def fetch(path: str) -> list[requests.Response]:
        return spread(
            lambda: requests.get(server.url(path), allow_redirects=False, timeout=60),
            4,
        )

    for path in SECURED_PATHS:
        for response in fetch(path):
            # The API says 503 (JSON) while the index is being built; never a 500.
            assert response.status_code < 500 or (
                response.status_code == 503 and path.startswith("/api/")
            ), (path, response.status_code)
            assert_security_headers(response)


def test_forced_error_shows_no_traceback(server):
    user = HttpUser(server.base_url, emails(server)[0]).login()
    jar = user.session.cookies.get_dict()
    rows = Rows(server)
    hidden = f"notifications_{secrets.token_hex(3)}"
    rows.execute(f"ALTER TABLE notifications RENAME TO {hidden}")
    try:
        answers = spread(lambda: with_cookies(server, jar, "/notifications/"))
    finally:
        rows.execute(f"ALTER TABLE {hidden} RENAME TO notifications")
        rows.close()
    for response in answers:
        assert response.status_code == 500
        assert "服务器出错" in response.text
        for leak in ("Traceback", hidden, "sqlalchemy", 'File "', "SELECT"):
            assert leak not in response.text, leak
        assert_security_headers(response)
    # The error went to the server's log, not to the visitor.
    assert "Traceback" in Path(server.log_path).read_text(errors="replace")
    assert logged_in(with_cookies(server, jar, "/notifications/"))


def test_contract_cannot_claim_another_organisations_result_on_any_worker(server):
    """The hidden result_id of /contracts/new is checked on every worker."""
    from tests.factories import make_result

    with server_app(server).app_context():
        result_id = make_result(server.people["lab"]["org_id"]).id
    user = HttpUser(server.base_url, emails(server)[4]).login()
    user.get("/contracts/new")
    data = {
        "csrf_token": user.token,
        "title": "冒领成果的合同",
        "contract_type": "transfer",
        "buyer_org": str(server.people["firm"]["org_id"]),
        "seller_org": "",
        "seller_name": "平台外公司",
        "seller_region": "411702",
        "signed_on": "2026-01-05",
        "amount": "10",
        "tech_amount": "8",
        "result_id": str(result_id),
    }
    jar = user.session.cookies.get_dict()
    answers = spread(
        lambda: requests.post(
            server.url("/contracts/new"), data=data, cookies=jar, timeout=60
        )
    )
    for response in answers:
        assert response.status_code == 200
        assert "合同只能关联买方或卖方自己的科技成果" in response.text
    rows = Rows(server)
    try:
        assert rows.scalar("SELECT count(*) FROM contracts") == 0
    finally:
        rows.close()


def test_production_cookies_are_secure(live_server):
    database = "postgres" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    prod = live_server(
        workers=2,
        database=database,
        env={"MARKETPLACE_ENV": "production", "SECRET_KEY": secrets.token_hex(32)},
    )
    app = server_app(prod)
    with app.app_context():
        email = make_people(app, {"firm": ("enterprise", 1)})["firm"]["emails"][0]
    # A Secure cookie is not sent back over plain HTTP by a browser; send it by hand.
    page = requests.get(prod.url("/auth/login"), timeout=60)
    session = page.cookies.get("mp_session")
    token = re.search(
        r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text
    )
    response = requests.post(
        prod.url("/auth/login"),
        data={
            "email": email,
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": token.group(1),
        },
        headers={"Cookie": f"mp_session={session}"},
        allow_redirects=False,
        timeout=60,
    )
    assert response.status_code == 302, response.text[:500]
    cookies = response.raw.headers.getlist("Set-Cookie")
    for name in ("mp_session=", "remember_token="):
        cookie = next(c for c in cookies if c.startswith(name))
        for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
            assert flag in cookie, cookie


def test_weak_passwords_and_a_registered_email_on_every_worker(server):
    """The password rule and the silent sign-up hold whichever worker answers."""
    from marketplace.creditcode import make_credit_code
    from tests.test_auth import signup_data

    user = HttpUser(server.base_url, emails(server)[5]).login()
    user.get("/auth/password")
    jar = user.session.cookies.get_dict()
    for weak, reason in (("password1", "10–128"), ("Password2026!", "常见或已泄露")):
        answers = spread(
            lambda weak=weak: requests.post(
                server.url("/auth/password"),
                data={
                    "csrf_token": user.token,
                    "current": PASSWORD,
                    "password": weak,
                    "confirm": weak,
                },
                cookies=jar,
                timeout=60,
            )
        )
        assert all(a.status_code == 200 and reason in a.text for a in answers)
    assert HttpUser(server.base_url, emails(server)[5]).login()  # unchanged

    def sign_up(email: str, serial: int) -> str:
        visitor = HttpUser(server.base_url)
        visitor.get("/auth/signup")
        data = signup_data(email=email, org_name=f"示例科技{serial}有限公司")
        data["credit_code"] = make_credit_code("411702", 910000 + serial)
        answer = visitor.post("/auth/signup", {"csrf_token": visitor.token, **data})
        assert answer.status_code == 302, answer.status_code
        return visitor.get(answer.headers["Location"]).text

    taken = [sign_up(emails(server)[0], n) for n in range(SPREAD)]
    fresh = [sign_up(f"new{n}@example.cn", 100 + n) for n in range(SPREAD)]
    said = {tuple(ALERT.findall(page)) for page in taken + fresh}
    assert len(said) == 1 and "已注册" not in str(said), said
    rows = Rows(server)
    try:
        assert rows.scalar(
            "SELECT count(*) FROM users WHERE email LIKE 'new%@example.cn'"
        ) == SPREAD
    finally:
        rows.close()



def test_a_restriction_recorded_after_a_bid_holds_on_every_worker(server):
    """Shortlisting a bid whose bidder was restricted since is refused everywhere."""
    from marketplace.extensions import db
    from marketplace.models import ChallengeStatus
    from tests.factories import Factory, make_challenge
    from tests.test_integrity_decisions import bid, restrict

    with server_app(server).app_context():
        factory = Factory(server_app(server), PASSWORD)
        bidder = factory.org("institute", name="后受限的研究所")
        challenge_id = make_challenge(
            server.people["firm"]["org_id"], status=ChallengeStatus.EVALUATING
        ).id
        bid_id = bid(db, challenge_id, bidder)
        restrict(db, bidder)
    owner = HttpUser(server.base_url, emails(server)[4]).login()
    owner.get(f"/challenges/{challenge_id}")
    jar = owner.session.cookies.get_dict()
    answers = spread(
        lambda: requests.post(
            server.url(f"/proposals/{bid_id}/shortlist"),
            data={"csrf_token": owner.token},
            cookies=jar,
            timeout=60,
            allow_redirects=False,
        )
    )
    assert [a.status_code for a in answers] == [302] * SPREAD
    for answer in answers:  # each answer's session carries its own flash
        page = requests.get(
            server.url(answer.headers["Location"]),
            cookies={**jar, **answer.cookies.get_dict()},
            timeout=60,
        ).text
        assert "处于科研诚信限制期内" in page and "不能入围" in page
    rows = Rows(server)
    try:
        status = rows.scalar("SELECT status FROM proposals WHERE id = :i", i=bid_id)
        assert status.lower() == "submitted"
    finally:
        rows.close()
