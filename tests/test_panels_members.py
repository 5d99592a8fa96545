"""Replacing a panel member who has not submitted (so the panel can complete)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.models import AuditEvent, Notification, PanelMember, PanelStatus
from tests.test_panels import (
    add_expert,
    count,
    form,
    person,
    scores,
    sheet,
    the_panel,
    w,  # noqa: F401  (a fixture)
)


@pytest.fixture
def pw(w):  # noqa: F811
    """test_panels' challenge in evaluation, its bids and experts."""
    return w


def seats(db, panel_id) -> list[tuple[int, bool]]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(PanelMember)
        .where(PanelMember.panel_id == panel_id)
        .order_by(PanelMember.expert_id)
    )
    return [(m.expert_id, m.submitted_at is not None) for m in rows]


def member_id(db, panel_id, expert_id) -> int:
    return db.session.scalar(
        select(PanelMember.id).where(
            PanelMember.panel_id == panel_id, PanelMember.expert_id == expert_id
        )
    )


def score_all(client, panel_id, bids) -> None:
    a, b = bids
    values = {a: scores(80, 80, 80, 80), b: scores(70, 70, 70, 70)}
    response = client.post(f"/panels/{panel_id}/score", data=sheet(bids, values))
    assert response.status_code == 302


def test_the_owner_gives_a_pending_seat_to_another_expert(db, pw, factory, login):
    assert form(pw).status_code == 302
    panel = the_panel(db)
    e1, e2, e3 = pw.free
    score_all(e1, panel.id, pw.bids)
    newcomer = person(factory, login)
    new_id = add_expert(db, newcomer, specialities="废水处理 生物膜")
    page = pw.owner.get(f"/panels/{panel.id}").get_data(as_text=True)
    assert "更换该专家" in page and f'value="{new_id}"' in page
    # The submitted seat offers no replacement; the conflicted expert is not offered.
    assert f'value="{pw.conflicted_id}"' not in page

    seat = member_id(db, panel.id, pw.experts[1])
    response = pw.owner.post(
        f"/panels/{panel.id}/members/{seat}/replace",
        data={"expert_id": str(new_id), "reason": "专家出差，无法按期评审"},
    )
    assert response.status_code == 302
    assert sorted(seats(db, panel.id)) == sorted(
        [(pw.experts[0], True), (pw.experts[2], False), (new_id, False)]
    )
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "panel_member_replaced")
    )
    assert event.object_id == panel.id and "专家出差" in event.note
    links = db.session.scalars(
        select(Notification.link).where(Notification.user_id == newcomer.user.id)
    ).all()
    assert links == [f"/panels/{panel.id}"]
    assert count(db, Notification, Notification.user_id == e2.user.id) == 2

    # The old holder's sheet is closed to them; the new one scores; it completes.
    assert e2.get(f"/panels/{panel.id}/score").status_code == 404
    score_all(e3, panel.id, pw.bids)
    score_all(newcomer, panel.id, pw.bids)
    assert the_panel(db).status == PanelStatus.COMPLETED


def test_bad_replacements_are_refused_and_nothing_changes(db, pw, factory, login):
    assert form(pw).status_code == 302
    panel = the_panel(db)
    score_all(pw.free[0], panel.id, pw.bids)
    before = seats(db, panel.id)
    pending = member_id(db, panel.id, pw.experts[1])
    submitted = member_id(db, panel.id, pw.experts[0])
    eligible = add_expert(db, person(factory, login), specialities="废水处理")
    url = f"/panels/{panel.id}/members/{{}}/replace"
    cases = [
        (submitted, eligible, "原因", "已提交评审意见"),
        (pending, pw.conflicted_id, "原因", "利益冲突"),
        (pending, pw.partner_expert_id, "原因", "利益冲突"),
        (pending, pw.restricted_id, "原因", "科研诚信限制期"),
        (pending, pw.retired_id, "原因", "在册"),
        (pending, pw.experts[2], "原因", "已在本专家组"),
        (pending, 2**40, "原因", "在册"),
        (pending, eligible, "", "更换原因"),
        (999_999, eligible, "原因", "不在本专家组"),
    ]
    for seat, expert_id, reason, message in cases:
        response = pw.owner.post(
            url.format(seat),
            data={"expert_id": str(expert_id), "reason": reason},
            follow_redirects=True,
        )
        assert response.status_code == 200
        assert message in response.get_data(as_text=True), (seat, expert_id)
        assert seats(db, panel.id) == before
    assert count(db, AuditEvent, AuditEvent.action == "panel_member_replaced") == 0


def test_who_may_replace(db, pw, client, factory, login):
    assert form(pw).status_code == 302
    panel = the_panel(db)
    before = seats(db, panel.id)
    pending = member_id(db, panel.id, pw.experts[1])
    eligible = add_expert(db, person(factory, login), specialities="废水处理")
    url = f"/panels/{panel.id}/members/{pending}/replace"
    data = {"expert_id": str(eligible), "reason": "原因"}
    assert client.post(url, data=data).status_code == 302  # to the login page
    assert pw.free[0].post(url, data=data).status_code == 403  # a member
    assert pw.bidder_a.post(url, data=data).status_code == 404  # cannot see it
    assert seats(db, panel.id) == before
    # The bureau may, as it may form a bid panel too.
    assert pw.bureau.post(url, data=data).status_code == 302
    assert (eligible, False) in seats(db, panel.id)


def test_no_replacement_once_the_panel_is_complete(db, pw, factory, login):
    assert form(pw).status_code == 302
    panel = the_panel(db)
    for expert in pw.free:
        score_all(expert, panel.id, pw.bids)
    assert the_panel(db).status == PanelStatus.COMPLETED
    eligible = add_expert(db, person(factory, login), specialities="废水处理")
    seat = member_id(db, panel.id, pw.experts[1])
    page = pw.owner.get(f"/panels/{panel.id}").get_data(as_text=True)
    assert "更换该专家" not in page
    response = pw.owner.post(
        f"/panels/{panel.id}/members/{seat}/replace",
        data={"expert_id": str(eligible), "reason": "原因"},
        follow_redirects=True,
    )
    assert "评审已结束" in response.get_data(as_text=True)
    assert (eligible, False) not in seats(db, panel.id)
