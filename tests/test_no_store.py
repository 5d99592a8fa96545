"""No cache keeps what a logged-in user saw: `Cache-Control: no-store`.

Every answer to a request that carries a login (a session or remember cookie, an
API token) or that starts a session is marked no-store by one after_request hook
(marketplace.security), pages, exports, error pages and redirects alike; the
anonymous page cache (marketplace.pagecache) never stores such an answer and
still serves cookie-less visitors. CSV exports say their charset once.
"""

from __future__ import annotations

import pytest
from flask import make_response

from marketplace import pagecache
from marketplace.extensions import db as _db
from marketplace.models import OrgKind, User
from marketplace.search.sync import get_index
from marketplace.tokens.services import create_token
from tests import access_table as T
from tests.conftest import PASSWORD
from tests.factories import make_result
from tests.test_access_matrix import (  # noqa: F401 - the module's fixtures
    client_for,
    matrix,
    rules,
    url_of,
    world,
)
from tests.test_pagecache import _renders, cached  # noqa: F401


def no_store(response) -> bool:
    return response.cache_control.no_store


@pytest.mark.parametrize("role", sorted(T.USERS))
def test_every_get_answer_to_a_logged_in_user_is_no_store(world, role):  # noqa: F811
    """The access table's GET rules, allowed or denied, each carry no-store."""
    client = client_for(world, role)
    missing = []
    for rule, method in rules(world["app"]):
        if method != "GET":
            continue
        url = url_of(rule, world["ids"])
        response = client.get(url)
        if not no_store(response):
            missing.append(f"{url} {response.status_code}")
    assert not missing, f"{role}: no no-store on\n" + "\n".join(missing)


def test_api_answers_to_a_token_are_no_store(client, factory):
    user = factory.user(factory.org(OrgKind.BUREAU))
    with client.application.app_context():
        token = create_token(_db.session.get(User, user.id), "报表")
        _db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get("/api/v1/stats/turnover", headers=headers)
    assert response.status_code == 200
    assert no_store(response)


def test_a_page_that_starts_a_session_is_no_store(app_config, app):
    app.config["WTF_CSRF_ENABLED"] = True
    form = app.test_client().get("/auth/login")
    assert "Set-Cookie" in form.headers and no_store(form)


def test_the_login_answer_and_all_after_it_are_no_store(app, factory):
    client = app.test_client()
    user = factory.user(factory.org(OrgKind.ENTERPRISE))
    data = {"email": user.email, "password": PASSWORD}
    answer = client.post("/auth/login", data=data)
    assert answer.status_code == 302 and no_store(answer)
    # Anyone still holding the cookie after logging out gets no-store too.
    assert no_store(client.post("/auth/logout"))
    assert no_store(client.get("/"))


def test_public_pages_to_a_visitor_without_cookies_stay_cacheable(client):
    # (The home page holds a form, so it starts a session and is private.)
    for url in ("/results/", "/challenges/", "/orgs/", "/no-such-page"):
        response = client.get(url)
        assert not no_store(response), url
        assert "Set-Cookie" not in response.headers, url
    # A cookie of ours, even one that logs nobody in, makes the answer private.
    client.set_cookie("mp_session", "anything")
    assert no_store(client.get("/results/"))


def test_static_files_stay_cacheable_when_logged_in(enterprise_client):
    response = enterprise_client.get("/static/css/app.css")
    assert response.status_code == 200
    assert not no_store(response)
    response.close()


def test_exports_are_no_store_and_csv_says_its_charset_once(bureau_client):
    csv = bureau_client.get("/stats/export/month.csv")
    assert csv.status_code == 200
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert no_store(csv)
    xlsx = bureau_client.get("/stats/export/month.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert no_store(xlsx)


# --- the page cache beside it ------------------------------------------------------


@pytest.mark.usefixtures("cached")
def test_cached_pages_stay_public_and_private_ones_are_not_stored(
    app, db, factory, login, monkeypatch
):
    institute = factory.org(OrgKind.INSTITUTE)
    result = make_result(institute.id, title="不缓存的成果")
    get_index().reindex(db.session)
    renders = _renders(app, monkeypatch)
    url = f"/results/{result.id}"
    member = login(factory.user(institute))
    first = member.get(url)
    assert first.status_code == 200 and no_store(first)
    anonymous = app.test_client()
    for _ in range(2):
        page = anonymous.get(url)
        assert page.status_code == 200 and not no_store(page)
    # The member's page was not stored: the visitor's first view rendered anew,
    # the second came from the cache; the member is never served from it.
    assert renders.count("results/detail.html") == 2
    assert no_store(member.get(url))
    assert renders.count("results/detail.html") == 3


@pytest.mark.usefixtures("cached")
def test_an_answer_marked_no_store_is_never_cached(app, monkeypatch):
    """Even a cookie-less GET on a cached endpoint, if the view marks it private."""
    calls = []

    def private_page():
        calls.append(1)
        response = make_response("<p>私有</p>")
        response.headers["Cache-Control"] = "no-store"
        return response

    app.add_url_rule("/private-probe", "private_probe", private_page)
    monkeypatch.setattr(pagecache, "ENDPOINTS", {*pagecache.ENDPOINTS, "private_probe"})
    client = app.test_client()
    for _ in range(2):
        response = client.get("/private-probe")
        assert response.status_code == 200 and no_store(response)
    assert len(calls) == 2
