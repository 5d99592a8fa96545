"""The anonymous page cache: served only to cookie-less visitors, fresh on change."""

from __future__ import annotations

import pytest

from marketplace.models import OrgKind, ResultStatus
from marketplace.search.sync import get_index
from tests.factories import make_result


@pytest.fixture
def cached(app_config):
    app_config["PAGE_CACHE_SECONDS"] = 60
    return app_config


def indexed(db) -> None:
    """Build the index: a page whose matches could not be shown is not cached."""
    get_index().reindex(db.session)


def _renders(app, monkeypatch) -> list[str]:
    """Record each real render of a template, to tell hits from misses."""
    import flask.templating

    seen: list[str] = []
    original = flask.templating._render

    def spy(app_, template, context):
        seen.append(template.name)
        return original(app_, template, context)

    monkeypatch.setattr(flask.templating, "_render", spy)
    return seen


def test_anonymous_pages_are_served_from_the_cache(
    cached, app, db, factory, monkeypatch
):
    institute = factory.org(OrgKind.INSTITUTE)
    result = make_result(institute.id, title="缓存测试成果")
    indexed(db)
    renders = _renders(app, monkeypatch)
    client = app.test_client()
    first = client.get(f"/results/{result.id}")
    second = client.get(f"/results/{result.id}")
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data()
    assert renders.count("results/detail.html") == 1
    # The security headers are set on a cached page too.
    assert second.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in second.headers


def test_a_change_to_a_listing_is_seen_at_once(cached, app, db, factory):
    institute = factory.org(OrgKind.INSTITUTE)
    result = make_result(institute.id, title="即将撤回的成果")
    client = app.test_client()
    assert "即将撤回的成果" in client.get("/results/").get_data(as_text=True)
    result.status = ResultStatus.WITHDRAWN
    db.session.commit()
    assert "即将撤回的成果" not in client.get("/results/").get_data(as_text=True)
    assert client.get(f"/results/{result.id}").status_code == 404


def test_logged_in_users_and_cookies_bypass_the_cache(
    cached, app, db, factory, login, monkeypatch
):
    institute = factory.org(OrgKind.INSTITUTE)
    result = make_result(institute.id)
    indexed(db)
    renders = _renders(app, monkeypatch)
    anonymous = app.test_client()
    anonymous.get(f"/results/{result.id}")
    member = login(factory.user(institute))
    page = member.get(f"/results/{result.id}").get_data(as_text=True)
    assert renders.count("results/detail.html") == 2
    # The owner's page is its own, never the anonymous copy.
    assert "退出" in page or "logout" in page
    with_cookie = app.test_client()
    with_cookie.set_cookie("mp_session", "anything")
    with_cookie.get(f"/results/{result.id}")
    bearer = app.test_client()
    bearer.get(f"/results/{result.id}", headers={"Authorization": "Bearer x"})
    assert renders.count("results/detail.html") == 4


def test_pages_that_start_a_session_are_not_cached(cached, app, monkeypatch):
    renders = _renders(app, monkeypatch)
    client = app.test_client()
    # The login page is not on the list; a listed page that set a cookie would
    # be refused by the same Set-Cookie rule.
    client.get("/auth/login")
    client.get("/auth/login")
    assert renders.count("auth/login.html") == 2


def test_cache_is_off_when_the_setting_is_zero(app, db, factory, monkeypatch):
    institute = factory.org(OrgKind.INSTITUTE)
    result = make_result(institute.id)
    indexed(db)
    renders = _renders(app, monkeypatch)
    client = app.test_client()
    client.get(f"/results/{result.id}")
    client.get(f"/results/{result.id}")
    assert renders.count("results/detail.html") == 2


def test_a_page_without_its_matches_is_not_cached(
    cached, app, db, factory, monkeypatch
):
    institute = factory.org(OrgKind.INSTITUTE)
    result = make_result(institute.id)
    # No index yet: the page says matching is unavailable, and is rendered anew.
    renders = _renders(app, monkeypatch)
    client = app.test_client()
    client.get(f"/results/{result.id}")
    client.get(f"/results/{result.id}")
    assert renders.count("results/detail.html") == 2


def test_the_cache_is_bounded_and_expires():
    from marketplace.pagecache import PageCache

    cache = PageCache(max_entries=2)
    for n in range(3):
        cache.put(("/p", n), b"x", "text/html")
    assert cache.get(("/p", 0), ttl=60) is None
    assert cache.get(("/p", 2), ttl=60) == (b"x", "text/html")
    assert cache.get(("/p", 2), ttl=-1) is None


def test_the_home_page_is_cached_yet_each_visitor_gets_a_token_of_their_own(
    cached, app, db, factory, monkeypatch
):
    import re

    from marketplace.pagecache import TOKEN_SLOT

    app.config["WTF_CSRF_ENABLED"] = True
    make_result(factory.org(OrgKind.INSTITUTE).id, title="小麦粉储藏品质保持技术")
    indexed(db)
    renders = _renders(app, monkeypatch)
    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    visitors, tokens = [], []
    for _ in range(3):
        visitor = app.test_client()
        page = visitor.get("/")
        assert page.status_code == 200
        # The answer starts the visitor's own session, and no one keeps it.
        assert "Set-Cookie" in page.headers
        assert page.headers["Cache-Control"] == "no-store"
        body = page.get_data(as_text=True)
        assert TOKEN_SLOT not in body
        visitors.append(visitor)
        tokens.append(token.search(body).group(1))
    assert renders.count("main/index.html") == 1  # the other two from the cache
    assert len(set(tokens)) == 3
    stored = b"".join(v[1] for v in app.extensions["page_cache"]._items.values())
    assert TOKEN_SLOT.encode() in stored
    assert not any(t.encode() in stored for t in tokens)
    for visitor, own in zip(visitors, tokens, strict=True):
        answer = visitor.post("/match", data={"text": "小麦粉结块", "csrf_token": own})
        assert answer.status_code == 200
    # Another visitor's token is no use in this visitor's session.
    refused = visitors[0].post(
        "/match", data={"text": "小麦粉结块", "csrf_token": tokens[1]}
    )
    assert refused.status_code == 400
