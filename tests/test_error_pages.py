"""Every error status the app can answer is its own Chinese page with its headers.

In process here, for each status werkzeug knows (what abort, routing, the
limiter and the body limit raise) and for the real causes of the common ones;
over real gunicorn, that a 10,000-character URL gets the app's 414 page rather
than gunicorn's English "URI Too Long", and that gunicorn started from the
project (gunicorn.conf.py), by `make run` or by the live-server tests lifts its
own request-line cap.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
import requests
from flask import abort
from gunicorn.config import Config
from werkzeug.exceptions import default_exceptions

from marketplace import errors
from tests.test_security import assert_security_headers

ERROR_CODES = sorted(code for code in default_exceptions if code >= 400)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def assert_own_page(response, code: int) -> str:
    """The project's error page for this status, in Chinese, with the headers."""
    body = response.get_data(as_text=True)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    title, message = errors.MESSAGES[code]
    assert f"<title>{title}" in body, body[:300]
    assert message in body
    assert "error-page" in body  # our template inside base.html, not a stub
    assert_security_headers(response)
    return body


def test_every_known_status_has_a_chinese_title_and_message():
    assert set(ERROR_CODES) <= set(errors.MESSAGES)
    for code, (title, message) in errors.MESSAGES.items():
        assert CHINESE.search(title) and CHINESE.search(message), code


@pytest.mark.parametrize("code", ERROR_CODES)
def test_abort_renders_our_page(app_config, app, code):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/abort/<int:status>")
    def aborting(status):
        abort(status)

    assert_own_page(app.test_client().get(f"/abort/{code}"), code)


def test_unknown_page_is_404(client):
    assert_own_page(client.get("/no-such-page"), 404)


def test_wrong_method_is_405(client):
    assert_own_page(client.get("/auth/logout"), 405)


def test_nul_byte_is_400(client):
    assert_own_page(client.get("/search?q=a%00b"), 400)


def test_oversize_body_is_413(app_config, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = app.test_client().post(
        "/auth/login", data={"email": "a@example.cn", "password": "x" * 5000}
    )
    assert_own_page(response, 413)


@pytest.fixture
def limited(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    return app_config


def test_rate_limit_is_429(limited, app):
    # The sign-up form allows 20 posts an hour from one address.
    client = app.test_client()
    answers = [client.post("/auth/signup", data={}).status_code for _ in range(20)]
    assert answers == [200] * 20
    assert_own_page(client.post("/auth/signup", data={}), 429)


def test_unhandled_exception_is_500(app_config, app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    body = assert_own_page(app.test_client().get("/boom"), 500)
    assert "secret internals" not in body


def test_denied_page_is_403(enterprise_client):
    assert_own_page(enterprise_client.get("/bureau/verifications"), 403)


def test_url_at_the_cap_is_served_and_one_longer_is_414(client):
    # The request target counts: "/search?q=" and the query.
    head = "/search?q="
    fits = head + "a" * (errors.MAX_URI_LENGTH - len(head))
    assert client.get(fits).status_code == 200
    assert_own_page(client.get(fits + "a"), 414)


def test_long_url_under_api_is_json_414(client):
    response = client.get("/api/v1/search?q=" + "%E8%8A%9D" * 3000)
    assert response.status_code == 414
    assert response.is_json and response.get_json()["status"] == 414
    assert response.get_json()["error"] == "request_uri_too_long"
    assert response.get_json()["message"] == errors.MESSAGES[414][1]
    assert_security_headers(response)


def test_a_414_to_a_logged_in_user_is_no_store(enterprise_client):
    response = enterprise_client.get("/search?q=" + "a" * errors.MAX_URI_LENGTH)
    assert_own_page(response, 414)
    assert response.cache_control.no_store


def test_gunicorn_started_in_the_project_lifts_its_request_line_cap():
    """A plain `gunicorn wsgi:app` (production) reads gunicorn.conf.py from here."""
    root = Path(__file__).resolve().parent.parent
    config = Config()
    assert config.settings["config"].default == "./gunicorn.conf.py"
    assert config.limit_request_line == 4094  # what we would get without the file
    for name, value in runpy.run_path(str(root / "gunicorn.conf.py")).items():
        if name in config.settings:
            config.set(name, value)
    assert config.limit_request_line == 0
    # make run and the live-server tests say the same on their command lines.
    for path in ("Makefile", "tests/live_server.py"):
        text = (root / path).read_text()
        assert re.search(r"--limit-request-line[\s\"',\\]+0\b", text), path


def test_ten_thousand_character_url_gets_our_414_from_gunicorn(live_server):
    server = live_server(workers=1)
    url = server.url("/search?q=" + "%E8%8A%9D" * 3333)  # 10,009 characters
    assert len(url) - len(server.base_url) > 10_000
    response = requests.get(url, timeout=60)
    assert response.status_code == 414
    assert "URI Too Long" not in response.text
    title, message = errors.MESSAGES[414]
    assert f"<title>{title}" in response.text and message in response.text
    assert_security_headers(response)
    # A long but acceptable URL (gunicorn's default cap is 4,094) is served.
    ok = requests.get(server.url("/search?q=" + "%E8%8A%9D" * 800), timeout=60)
    assert ok.status_code == 200
    assert_security_headers(ok)
    # With a session cookie (whatever its worth) both answers are private.
    cookies = {"mp_session": "anything"}
    for target, code in ((url, 414), (ok.url, 200)):
        private = requests.get(target, cookies=cookies, timeout=60)
        assert private.status_code == code
        assert "no-store" in private.headers["Cache-Control"]
