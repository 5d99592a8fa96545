"""Messages (消息): listing, deal and project threads, receipts, clarifications.

Each thread kind is read and written by its participants only; outsiders get a
404 and the bureau a 403 unless it is a party (project threads) or states the
reason of a complaint review, which is audited.
"""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from marketplace.models import (
    AuditEvent,
    Clarification,
    Deal,
    MemberStatus,
    Message,
    MessageAttachment,
    MessageThread,
    Notification,
    OrgKind,
    Proposal,
    ProposalKind,
    ProposalMember,
    ProposalStatus,
    ThreadKind,
)
from tests.factories import make_challenge, make_result, project_for
from tests.sample_files import PDF
from tests.test_projects import awarded_challenge, party


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def notes_of(db, user) -> list[Notification]:
    return list(
        db.session.scalars(select(Notification).where(Notification.user_id == user.id))
    )


def thread_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    match = re.search(r"/messages/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def say(client, url, body, files=()):
    data = {"body": body}
    if files:
        data["attachments"] = [(io.BytesIO(b), name) for b, name in files]
        return client.post(url, data=data, content_type="multipart/form-data")
    return client.post(url, data=data)


@pytest.fixture
def world(db, factory, login):
    """A firm's challenge, a university's result, two institutes, an agency, staff."""
    w = SimpleNamespace(
        firm=party(factory, login, OrgKind.ENTERPRISE),
        uni=party(factory, login, OrgKind.UNIVERSITY),
        inst=party(factory, login, OrgKind.INSTITUTE),
        inst2=party(factory, login, OrgKind.INSTITUTE),
        agency=party(factory, login, OrgKind.AGENCY),
        outsider=party(factory, login, OrgKind.ENTERPRISE),
        bureau=party(factory, login, OrgKind.BUREAU),
    )
    w.challenge_id = make_challenge(w.firm.org.id, title="冷链温控需求").id
    w.result_id = make_result(w.uni.org.id, title="高效生物膜工艺").id
    return w


# --- listing threads -------------------------------------------------------------


def test_an_institute_asks_a_challenge_owner_and_both_read(db, world):
    page = world.inst.get(f"/challenges/{world.challenge_id}")
    assert "向发布方提问" in page.get_data(as_text=True)
    assert "向发布方提问" not in world.firm.get(
        f"/challenges/{world.challenge_id}"
    ).get_data(as_text=True)
    url = f"/messages/challenge/{world.challenge_id}/ask"
    assert world.inst.get(url).status_code == 200
    tid = thread_id_of(say(world.inst, url, "温控精度要求是多少？"))
    thread = db.session.get(MessageThread, tid)
    assert thread.kind == ThreadKind.LISTING
    assert thread.asker_org_id == world.inst.org.id
    assert world.firm.get(f"/messages/{tid}").status_code == 200
    assert say(world.firm, f"/messages/{tid}", "±0.5℃").status_code == 302
    text = world.inst.get(f"/messages/{tid}").get_data(as_text=True)
    assert "温控精度要求是多少？" in text and "±0.5℃" in text
    # Asking again leads to the same thread, not a second one.
    assert world.inst.get(url).headers["Location"].endswith(f"/messages/{tid}")
    tid2 = thread_id_of(say(world.inst, url, "还有一个问题"))
    assert tid2 == tid
    assert count(db, MessageThread) == 1


def test_a_firm_asks_a_university_about_a_result(db, world):
    assert "向发布方提问" in world.firm.get(f"/results/{world.result_id}").get_data(
        as_text=True
    )
    url = f"/messages/result/{world.result_id}/ask"
    tid = thread_id_of(say(world.firm, url, "能否许可使用？"))
    assert db.session.get(MessageThread, tid).result_id == world.result_id
    assert world.uni.get(f"/messages/{tid}").status_code == 200
    # The owner does not ask itself.
    assert say(world.uni, url, "自问").status_code == 403


def test_outsiders_cannot_read_or_write_a_listing_thread(db, world, client):
    url = f"/messages/challenge/{world.challenge_id}/ask"
    tid = thread_id_of(say(world.inst, url, "保密问题 SECRET-Q-1"))
    for outsider in (world.inst2, world.outsider, world.uni, world.agency):
        response = outsider.get(f"/messages/{tid}")
        assert response.status_code == 404
        assert "SECRET-Q-1" not in response.get_data(as_text=True)
        assert say(outsider, f"/messages/{tid}", "插话").status_code == 404
    assert client.get(f"/messages/{tid}").status_code == 302  # to the login page
    assert count(db, Message) == 1


def test_unverified_members_and_the_bureau_may_not_ask(db, world, unverified_client):
    url = f"/messages/challenge/{world.challenge_id}/ask"
    assert say(unverified_client, url, "问").status_code == 403
    assert say(world.bureau, url, "问").status_code == 403
    draft = make_challenge(world.firm.org.id, status="draft", published_at=None)
    assert world.inst.get(f"/messages/challenge/{draft.id}/ask").status_code == 404
    assert count(db, MessageThread) == 0


# --- deal and project threads ---------------------------------------------------


def _bid_deal(db, world, member_status):
    """A deal from the institute's bid: university in its consortium, agency brokers."""
    bid = Proposal(
        kind=ProposalKind.BID,
        challenge_id=world.challenge_id,
        org_id=world.inst.org.id,
        solution="方案",
        status=ProposalStatus.SELECTED,
    )
    bid.members.append(ProposalMember(org_id=world.uni.org.id, status=member_status))
    db.session.add(bid)
    db.session.flush()
    deal = Deal(
        title="冷链撮合",
        demand_org_id=world.firm.org.id,
        supply_org_id=world.inst.org.id,
        broker_org_id=world.agency.org.id,
        challenge_id=world.challenge_id,
        proposal_id=bid.id,
    )
    db.session.add(deal)
    db.session.commit()
    return deal.id


def test_deal_thread_for_parties_broker_and_confirmed_consortium(db, world):
    deal_id = _bid_deal(db, world, MemberStatus.CONFIRMED)
    assert "进入会话" in world.firm.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert world.firm.get(f"/messages/deal/{deal_id}").status_code == 200
    tid = thread_id_of(say(world.firm, f"/messages/deal/{deal_id}", "约个时间谈"))
    assert db.session.get(MessageThread, tid).deal_id == deal_id
    for member in (world.inst, world.agency, world.uni):
        assert "约个时间谈" in member.get(f"/messages/{tid}").get_data(as_text=True)
    # The consortium member goes from the bid's page to the deal's page (members
    # read the deal as parties do), finds the thread there and in its inbox, and
    # writes.
    bid_page = world.uni.get(f"/proposals/{db.session.get(Deal, deal_id).proposal_id}")
    assert f"/deals/{deal_id}" in bid_page.get_data(as_text=True)
    deal_page = world.uni.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert f"/messages/{tid}" in deal_page and "进入会话" in deal_page
    assert f"/messages/{tid}" in world.uni.get("/messages/").get_data(as_text=True)
    assert world.uni.get(f"/messages/deal/{deal_id}").status_code == 302
    assert say(world.uni, f"/messages/deal/{deal_id}", "联合体意见").status_code == 302
    assert "联合体意见" in world.agency.get(f"/messages/{tid}").get_data(as_text=True)
    assert world.outsider.get(f"/messages/{tid}").status_code == 404
    assert world.outsider.get(f"/messages/deal/{deal_id}").status_code == 404
    assert "约个时间谈" not in world.outsider.get("/messages/").get_data(as_text=True)


def test_bureau_is_no_party_to_a_deal_thread(db, world):
    deal_id = _bid_deal(db, world, MemberStatus.CONFIRMED)
    tid = thread_id_of(say(world.firm, f"/messages/deal/{deal_id}", "报价 SECRET-D"))
    page = world.bureau.get(f"/deals/{deal_id}").get_data(as_text=True)
    assert f"/messages/{tid}/review" in page and "进入会话" not in page
    assert world.bureau.get(f"/messages/deal/{deal_id}").status_code == 403
    assert world.bureau.get(f"/messages/{tid}").status_code == 403
    assert say(world.bureau, f"/messages/deal/{deal_id}", "插话").status_code == 403
    assert "SECRET-D" not in world.bureau.get("/messages/").get_data(as_text=True)
    assert count(db, Message) == 1


def test_an_unconfirmed_consortium_member_is_no_party(db, world):
    deal_id = _bid_deal(db, world, MemberStatus.INVITED)
    tid = thread_id_of(say(world.firm, f"/messages/deal/{deal_id}", "内部讨论"))
    assert world.uni.get(f"/messages/{tid}").status_code == 404
    assert world.uni.get(f"/messages/deal/{deal_id}").status_code == 404


def _project(db, world):
    challenge_id, _bid, _deal, contract_id = awarded_challenge(
        db, world.firm.org, world.inst2.org
    )
    return project_for(challenge_id, contract_id)


def test_project_thread_for_owner_winner_and_bureau(db, world):
    project_id = _project(db, world)
    assert "进入会话" in world.inst2.get(f"/projects/{project_id}").get_data(
        as_text=True
    )
    tid = thread_id_of(say(world.inst2, f"/messages/project/{project_id}", "样机已到"))
    assert db.session.get(MessageThread, tid).project_id == project_id
    for member in (world.firm, world.bureau):
        assert "样机已到" in member.get(f"/messages/{tid}").get_data(as_text=True)
    assert say(world.bureau, f"/messages/{tid}", "请按期提交").status_code == 302
    assert world.outsider.get(f"/messages/{tid}").status_code == 404
    assert world.inst.get(f"/messages/project/{project_id}").status_code == 404


# --- attachments --------------------------------------------------------------------


def test_attachments_are_checked_and_served_to_participants_only(db, world):
    url = f"/messages/challenge/{world.challenge_id}/ask"
    tid = thread_id_of(say(world.inst, url, "见附件", [(PDF, "参数.pdf")]))
    item = db.session.scalar(select(MessageAttachment))
    assert item.original_name == "参数.pdf"
    download = world.firm.get(f"/messages/attachments/{item.id}")
    assert download.status_code == 200 and download.data == PDF
    assert world.outsider.get(f"/messages/attachments/{item.id}").status_code == 404
    # A renamed HTML page is refused by its content; nothing is stored.
    bad = say(world.firm, f"/messages/{tid}", "回复", [(b"<html>x</html>", "a.pdf")])
    assert bad.status_code == 400
    assert "不是有效的" in bad.get_data(as_text=True)
    assert count(db, Message) == 1
    assert count(db, MessageAttachment) == 1


# --- read receipts, unread counts and notifications ---------------------------------


def test_unread_counts_read_receipts_and_notifications(db, world, factory, login):
    colleague = factory.user(world.firm.org)
    colleague_client = login(colleague)
    before = {u: len(notes_of(db, u)) for u in (world.inst.user, world.firm.user)}
    url = f"/messages/challenge/{world.challenge_id}/ask"
    tid = thread_id_of(say(world.inst, url, "第一问"))
    say(world.inst, f"/messages/{tid}", "第二问")
    # Every other participant is notified; the author is not.
    assert len(notes_of(db, world.inst.user)) == before[world.inst.user]
    firm_notes = notes_of(db, world.firm.user)
    assert len(firm_notes) == before[world.firm.user] + 2
    assert firm_notes[-1].link == f"/messages/{tid}"
    assert len(notes_of(db, colleague)) == 2
    assert notes_of(db, world.outsider.user) == []
    # The header counts the two unread messages.
    home = world.firm.get("/").get_data(as_text=True)
    assert re.search(r'unread-messages"[^>]*>2<', home)
    assert "unread-messages" not in world.inst.get("/").get_data(as_text=True)
    page = world.inst.get(f"/messages/{tid}").get_data(as_text=True)
    assert "对方未读" in page
    world.firm.get(f"/messages/{tid}")
    assert "unread-messages" not in world.firm.get("/").get_data(as_text=True)
    page = world.inst.get(f"/messages/{tid}").get_data(as_text=True)
    assert f"已读：测试用户（{world.firm.org.name}）" in page and "对方未读" not in page
    assert "unread-messages" in colleague_client.get("/").get_data(as_text=True)
    inbox = colleague_client.get("/messages/").get_data(as_text=True)
    assert "2 条未读" in inbox


# --- clarifications ------------------------------------------------------------------


def test_owner_publishes_a_clarification_without_the_askers_name(db, world):
    url = f"/messages/challenge/{world.challenge_id}/ask"
    tid = thread_id_of(say(world.inst, url, "能否放宽温控精度？"))
    bid = Proposal(
        kind=ProposalKind.BID,
        challenge_id=world.challenge_id,
        org_id=world.inst2.org.id,
        solution="方案",
    )
    db.session.add(bid)
    db.session.commit()
    form = {"question": "能否放宽温控精度？", "answer": "不能，须 ±0.5℃。"}
    # Without the tick nothing is published; others may not publish at all.
    clarify = f"/messages/{tid}/clarifications"
    assert world.firm.post(clarify, data=form).status_code == 400
    assert (
        world.inst.post(
            f"/messages/{tid}/clarifications", data={**form, "confirm": "y"}
        ).status_code
        == 403
    )
    assert count(db, Clarification) == 0
    response = world.firm.post(
        f"/messages/{tid}/clarifications", data={**form, "confirm": "y"}
    )
    assert response.status_code == 302
    page = world.inst2.get(f"/challenges/{world.challenge_id}").get_data(as_text=True)
    assert "不能，须 ±0.5℃。" in page and "澄清" in page
    assert world.inst.org.name not in page
    assert any("澄清" in n.message for n in notes_of(db, world.inst2.user))
    assert count(db, AuditEvent, AuditEvent.action == "clarification_published") == 1


def test_a_clarification_reaches_the_consortium_members_a_bid_names(db, world):
    url = f"/messages/challenge/{world.challenge_id}/ask"
    tid = thread_id_of(say(world.inst, url, "样机能否分期交付？"))
    bid = Proposal(
        kind=ProposalKind.BID,
        challenge_id=world.challenge_id,
        org_id=world.inst2.org.id,
        solution="方案",
    )
    bid.members = [
        ProposalMember(org_id=world.uni.org.id, status=MemberStatus.CONFIRMED),
        ProposalMember(org_id=world.agency.org.id, status=MemberStatus.DECLINED),
    ]
    db.session.add(bid)
    db.session.commit()
    form = {"question": "样机能否分期交付？", "answer": "可以。", "confirm": "y"}
    response = world.firm.post(f"/messages/{tid}/clarifications", data=form)
    assert response.status_code == 302
    told = [n for n in notes_of(db, world.uni.user) if "澄清" in n.message]
    assert len(told) == 1
    assert told[0].link == f"/challenges/{world.challenge_id}#clarifications"
    # A member that declined has left the bid; an outsider never joined it.
    for party_ in (world.agency, world.outsider):
        assert not [n for n in notes_of(db, party_.user) if "澄清" in n.message]


# --- the bureau ----------------------------------------------------------------------


def test_bureau_reads_other_threads_only_in_an_audited_review(
    db, world, sysadmin_client
):
    url = f"/messages/challenge/{world.challenge_id}/ask"
    tid = thread_id_of(say(world.inst, url, "投诉相关 SECRET-R-7"))
    listing = world.bureau.get(f"/challenges/{world.challenge_id}")
    assert f"/messages/{tid}/review" in listing.get_data(as_text=True)
    assert f"/messages/{tid}/review" not in world.inst2.get(
        f"/challenges/{world.challenge_id}"
    ).get_data(as_text=True)
    denied = world.bureau.get(f"/messages/{tid}")
    assert denied.status_code == 403
    assert "SECRET-R-7" not in denied.get_data(as_text=True)
    assert "SECRET-R-7" not in listing.get_data(as_text=True)
    form = world.bureau.get(f"/messages/{tid}/review")
    assert form.status_code == 200 and "SECRET-R-7" not in form.get_data(as_text=True)
    # No reason, no tick: nothing shown, nothing recorded.
    empty = world.bureau.post(f"/messages/{tid}/review", data={"confirm": "y"})
    assert empty.status_code == 400
    assert "SECRET-R-7" not in empty.get_data(as_text=True)
    assert count(db, AuditEvent, AuditEvent.action == "thread_review") == 0
    shown = world.bureau.post(
        f"/messages/{tid}/review",
        data={"complaint": "TS-2026-01", "reason": "企业投诉骚扰", "confirm": "y"},
    )
    assert shown.status_code == 200
    assert "SECRET-R-7" in shown.get_data(as_text=True)
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "thread_review")
    )
    assert event.object_id == tid and event.user_id == world.bureau.user.id
    assert "TS-2026-01" in event.note and "企业投诉骚扰" in event.note
    log = sysadmin_client.get("/admin/audit").get_data(as_text=True)
    assert "投诉审查查阅消息" in log and "消息会话" in log
    # Others may not review; the bureau cannot write while reviewing.
    assert world.outsider.get(f"/messages/{tid}/review").status_code == 404
    assert say(world.bureau, f"/messages/{tid}", "插话").status_code == 403
    assert count(db, Message) == 1
