"""The problem box over real gunicorn: a 1,900-character description end to end.

Before the box posted its text, about 450 characters (percent-encoded into the
URL) were enough for a URI-too-long page. Here a real browser's requests go to
gunicorn: the home page's form, its CSRF token, the POST, the weak-match answer,
the one-step draft after logging in.
"""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.http_users import HttpUser, Rows, make_people, server_app
from tests.test_problem_box import real_description


@pytest.fixture
def server(live_server):
    live = live_server(workers=2, env={"PAGE_CACHE_SECONDS": "10"})
    app = server_app(live)
    with app.app_context():
        from tests.factories import make_result

        live.people = make_people(
            app, {"mill": ("enterprise", 1), "lab": ("institute", 1)}
        )
        make_result(
            live.people["lab"]["org_id"],
            title="小麦粉储藏品质保持与防结块技术",
            abstract="通过低温储藏和气调储藏延长小麦粉保鲜期，防止生虫和结块。",
            keywords=["小麦粉", "储藏品质", "防结块"],
        )
    assert live.flask("search", "reindex").returncode == 0
    return live


def test_a_1900_character_description_over_gunicorn(server):
    text = real_description(1900)
    visitor = HttpUser(server.base_url)
    home = visitor.get("/")
    assert 'action="/match"' in home.text and "最多 2000 字" in home.text
    answer = visitor.post("/match", {"text": text})
    assert answer.status_code == 200, answer.text[:300]
    assert "小麦粉储藏品质保持与防结块技术" in answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in answer.headers
    too_long = visitor.post("/match", {"text": text + "多" * 101})
    assert "描述不超过 2000 字：您输入了 2001 字" in too_long.text
    without_token = HttpUser(server.base_url)
    without_token.get("/healthz")
    refused = without_token.post("/match", {"text": text})
    assert refused.status_code == 400 and "CSRF" in refused.text
    # One server for both parts: preparing one takes most of a minute.
    weak_answer_becomes_a_draft_after_login(server)


def weak_answer_becomes_a_draft_after_login(server):
    """A visitor's weak match, kept through login, lands on its draft."""
    rows = Rows(server)
    try:
        text = "冷库制冷机组电费太高，夏季尤其严重。" * 50  # nothing in the catalogue
        visitor = HttpUser(server.base_url)
        visitor.get("/match")
        # The first part's description may have left a lead of its own: a
        # catalogue of one result rarely matches a long description strongly.
        before = rows.scalar("SELECT count(*) FROM unmet_demands")
        answer = visitor.post("/match", {"text": text})
        assert "没有找到足够匹配的科技成果" in answer.text
        assert rows.scalar("SELECT count(*) FROM unmet_demands") == before + 1
        kept = visitor.post("/demands/draft", {"text": text})
        assert kept.headers["Location"] == "/demands/kept"
        visitor.get("/demands/kept")
        login = visitor.post(
            "/auth/login?next=/demands/resume",
            {"email": server.people["mill"]["emails"][0], "password": PASSWORD},
        )
        assert login.headers["Location"] == "/demands/resume"
        landed = visitor.get("/demands/resume")
        assert landed.status_code == 302 and landed.headers["Location"].endswith(
            "/edit"
        )
        edit = visitor.get(landed.headers["Location"])
        assert "冷库制冷机组电费太高" in edit.text
        title, description = rows.all("SELECT title, description FROM challenges")[0]
        assert title == "冷库制冷机组电费太高，夏季尤其严重" and description == text
    finally:
        rows.close()
