"""Research-integrity records (科研诚信): recording, revoking, seeing, enforcing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.clock import local_today, utcnow
from marketplace.exceptions import ServiceError
from marketplace.integrity import services
from marketplace.models import (
    AuditEvent,
    Challenge,
    IntegrityRecord,
    Notification,
    OrgKind,
    Proposal,
    ProposalMember,
    User,
)
from marketplace.proposals import services as proposals
from tests.dates import iso, resolved, today
from tests.factories import make_challenge, make_result

# --- builders ------------------------------------------------------------------


def count(db, model, *where) -> int:
    """Rows of a model, fresh from the database."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def make_record(db, *, org=None, user=None, **fields) -> int:
    """A committed record against an organisation or a person; returns its id."""
    values = {
        "misconduct_type": "fabrication",
        "facts": "申报材料中的检测数据系伪造。",
        "decided_on": today(-10),
        "restricted_until": today(365),
        "source_document": "驻科〔2026〕7 号",
    }
    values.update(fields)
    record = IntegrityRecord(
        org_id=org.id if org is not None else user.org_id,
        user_id=user.id if user is not None else None,
        **values,
    )
    db.session.add(record)
    db.session.commit()
    return record.id


def member(factory, login, org):
    """A logged-in member of an organisation."""
    user = factory.user(org)
    client = login(user)
    client.user, client.org = user, org
    return client


def record_form(**overrides) -> dict:
    data = {
        "subject": "org",
        "org_text": "",
        "email": "",
        "misconduct_type": "plagiarism",
        "facts": "结题报告大段抄袭他人论文。",
        "decided_on": (local_today() - timedelta(days=3)).isoformat(),
        "restricted_until": (local_today() + timedelta(days=700)).isoformat(),
        "source_document": "驻科〔2026〕12 号",
    }
    data.update(overrides)
    return data


def bid_data(**overrides) -> dict:
    data = {
        "solution": "采用厌氧-好氧组合生物膜工艺。",
        "technical_route": "小试 → 中试 → 现场示范",
        "price": "45",
        "duration_months": "12",
        "team": "张教授团队",
        "members": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def challenge_id(db, factory):
    owner = factory.org(OrgKind.ENTERPRISE)
    return make_challenge(owner.id).id


# --- recording -------------------------------------------------------------------


def test_bureau_records_against_org_and_members_are_told(
    bureau_client, enterprise_client, db
):
    org = enterprise_client.org
    response = bureau_client.post(
        "/integrity/new", data=record_form(org_text=org.credit_code)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    record = db.session.scalar(select(IntegrityRecord))
    assert (record.org_id, record.user_id) == (org.id, None)
    assert record.misconduct_type == "plagiarism"
    assert record.recorded_by_id == bureau_client.user.id
    assert response.headers["Location"].endswith(f"/integrity/{record.id}")
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "integrity_recorded")
    )
    assert event.object_id == record.id and event.to_state == "in_force"
    note = db.session.scalar(
        select(Notification).where(Notification.user_id == enterprise_client.user.id)
    )
    assert "抄袭剽窃" in note.message and note.link == f"/integrity/{record.id}"
    page = enterprise_client.get("/integrity/mine").get_data(as_text=True)
    assert "驻科〔2026〕12 号" in page and "本机构全体成员" in page
    assert "不得揭榜" in page  # the notice of the restriction in force


def test_bureau_records_against_a_person_by_name_and_email(
    bureau_client, factory, login, db
):
    org = factory.org(OrgKind.UNIVERSITY, name="驻马店某大学")
    person = member(factory, login, org)
    colleague = member(factory, login, org)
    response = bureau_client.post(
        "/integrity/new",
        data=record_form(subject="person", email=person.user.email.upper()),
    )
    assert response.status_code == 302
    record = db.session.scalar(select(IntegrityRecord))
    assert (record.org_id, record.user_id) == (org.id, person.user.id)
    told = db.session.scalars(select(Notification.user_id)).all()
    assert told == [person.user.id]
    assert "个人" in person.get("/integrity/mine").get_data(as_text=True)
    assert person.get(f"/integrity/{record.id}").status_code == 200
    # The colleague neither lists nor opens the person's record.
    page = colleague.get("/integrity/mine").get_data(as_text=True)
    assert "驻科〔2026〕12 号" not in page
    assert colleague.get(f"/integrity/{record.id}").status_code == 404
    # And by the organisation's name too.
    response = bureau_client.post(
        "/integrity/new", data=record_form(org_text="驻马店某大学")
    )
    assert response.status_code == 302
    assert count(db, IntegrityRecord, IntegrityRecord.user_id.is_(None)) == 1


def test_record_without_restriction(bureau_client, enterprise_client, db):
    response = bureau_client.post(
        "/integrity/new",
        data=record_form(org_text=enterprise_client.org.name, restricted_until=""),
    )
    assert response.status_code == 302
    record = db.session.scalar(select(IntegrityRecord))
    assert record.restricted_until is None
    page = bureau_client.get(f"/integrity/{record.id}").get_data(as_text=True)
    assert "无限制措施" in page
    assert enterprise_client.get("/integrity/mine").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"org_text": "不存在的机构"}, "找不到机构"),
        ({"org_text": ""}, "请填写机构全称"),
        ({"subject": "person", "email": "nobody@example.cn"}, "没有使用该邮箱的账号"),
        ({"subject": "person", "email": ""}, "当事人邮箱格式不正确"),
        ({"subject": "nobody"}, "不是有效的选择"),
        ({"misconduct_type": "jaywalking"}, "不是有效的选择"),
        ({"facts": "  "}, "请填写失信事实"),
        ({"source_document": ""}, "请填写处理决定文号"),
        ({"decided_on": ""}, "请填写处理决定日期"),
        (
            {"decided_on": lambda: iso(1)},
            "不能晚于今天",
        ),
        (
            {"restricted_until": lambda: iso(-30)},
            "不能早于处理决定日期",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(
    bureau_client, enterprise_client, db, overrides, message
):
    data = record_form(org_text=enterprise_client.org.name)
    data.update(resolved(overrides))
    response = bureau_client.post("/integrity/new", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert count(db, IntegrityRecord) == 0
    assert count(db, Notification) == 0
    assert count(db, AuditEvent, AuditEvent.action == "integrity_recorded") == 0


def test_the_bureau_itself_cannot_be_recorded(bureau_client, db):
    response = bureau_client.post(
        "/integrity/new", data=record_form(org_text=bureau_client.org.name)
    )
    assert "不能对科技局本身" in response.get_data(as_text=True)
    assert count(db, IntegrityRecord) == 0


def test_service_refuses_non_bureau(db, factory):
    org = factory.org(OrgKind.ENTERPRISE)
    user = db.session.get(User, factory.user(org).id)
    data = services.RecordData(
        subject="org",
        org_text=org.name,
        email="",
        misconduct_type="other",
        facts="x",
        decided_on=today(),
        restricted_until=None,
        source_document="y",
    )
    with pytest.raises(ServiceError, match="只有科技局"):
        services.record_misconduct(user, data)


# --- who sees what -----------------------------------------------------------------


def test_access_denied_to_anonymous_and_non_bureau(
    client, enterprise_client, university_client, db
):
    record_id = make_record(db, org=enterprise_client.org)
    for url in ("/integrity/", "/integrity/new", "/integrity/mine"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.location
    assert client.get(f"/integrity/{record_id}").status_code == 302
    for who in (enterprise_client, university_client):
        assert who.get("/integrity/").status_code == 403
        assert who.get("/integrity/new").status_code == 403
        response = who.post("/integrity/new", data=record_form(org_text=who.org.name))
        assert response.status_code == 403
        response = who.post(f"/integrity/{record_id}/revoke", data={"reason": "x"})
        assert response.status_code in (403, 404)
    # Another organisation does not see the record at all.
    assert university_client.get(f"/integrity/{record_id}").status_code == 404
    page = university_client.get("/integrity/mine").get_data(as_text=True)
    assert "暂无科研诚信记录" in page
    # The party sees it, without the revoke form.
    page = enterprise_client.get(f"/integrity/{record_id}").get_data(as_text=True)
    assert "数据造假" in page and "撤销该记录" not in page
    assert count(db, IntegrityRecord) == 1
    assert count(db, IntegrityRecord, IntegrityRecord.revoked_at.is_not(None)) == 0


def test_bureau_list_filters(bureau_client, factory, db):
    org = factory.org(OrgKind.ENTERPRISE)
    make_record(db, org=org, source_document="文号-生效中")
    make_record(
        db,
        org=org,
        source_document="文号-已期满",
        decided_on=today(-400),
        restricted_until=today(-1),
    )
    make_record(db, org=org, source_document="文号-无限制", restricted_until=None)
    make_record(db, org=org, source_document="文号-已撤销", revoked_at=utcnow())

    def shown(state: str) -> set[str]:
        page = bureau_client.get(f"/integrity/?state={state}").get_data(as_text=True)
        return {
            n for n in ("生效中", "已期满", "无限制", "已撤销") if f"文号-{n}" in page
        }

    assert shown("") == {"生效中", "已期满", "无限制", "已撤销"}
    assert shown("in_force") == {"生效中"}
    assert shown("expired") == {"已期满", "无限制"}
    assert shown("revoked") == {"已撤销"}
    assert shown("nonsense") == {"生效中", "已期满", "无限制", "已撤销"}


def test_revoke_needs_reason_and_tells_the_party(bureau_client, enterprise_client, db):
    record_id = make_record(db, org=enterprise_client.org)
    response = bureau_client.post(
        f"/integrity/{record_id}/revoke", data={"reason": " "}, follow_redirects=True
    )
    assert "请填写撤销理由" in response.get_data(as_text=True)
    assert count(db, IntegrityRecord, IntegrityRecord.revoked_at.is_not(None)) == 0
    response = bureau_client.post(
        f"/integrity/{record_id}/revoke",
        data={"reason": "复议撤销原处理决定"},
        follow_redirects=True,
    )
    assert "该记录已撤销" in response.get_data(as_text=True)
    record = db.session.get(IntegrityRecord, record_id)
    assert (
        record.revoked_at is not None and record.revoke_reason == "复议撤销原处理决定"
    )
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "integrity_revoked")
    )
    assert (event.from_state, event.to_state) == ("in_force", "revoked")
    assert any(
        "已撤销" in n
        for n in db.session.scalars(
            select(Notification.message).where(
                Notification.user_id == enterprise_client.user.id
            )
        )
    )
    # A second revocation is refused and changes nothing.
    response = bureau_client.post(
        f"/integrity/{record_id}/revoke",
        data={"reason": "再撤一次"},
        follow_redirects=True,
    )
    assert "该记录已撤销" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (
        db.session.get(IntegrityRecord, record_id).revoke_reason == "复议撤销原处理决定"
    )
    assert count(db, AuditEvent, AuditEvent.action == "integrity_revoked") == 1


def test_unknown_record_is_404(bureau_client):
    assert bureau_client.get("/integrity/999999").status_code == 404
    assert (
        bureau_client.post("/integrity/999999/revoke", data={"reason": "x"}).status_code
        == 404
    )


# --- enforcement -------------------------------------------------------------------


def test_restricted_org_direct_post_to_bid_is_refused_with_reason(
    enterprise_client, challenge_id, db
):
    make_record(db, org=enterprise_client.org)
    page = enterprise_client.get(f"/challenges/{challenge_id}").get_data(as_text=True)
    assert "因科研诚信记录（数据造假，驻科〔2026〕7 号）" in page
    assert f"/proposals/challenge/{challenge_id}/new" not in page
    response = enterprise_client.post(
        f"/proposals/challenge/{challenge_id}/new",
        data=bid_data(),
        follow_redirects=True,
    )
    assert "因科研诚信记录（数据造假，驻科〔2026〕7 号）" in response.get_data(
        as_text=True
    )
    assert count(db, Proposal) == 0


def test_service_refuses_with_the_notice_before_anything(db, factory, challenge_id):
    org = factory.org(OrgKind.UNIVERSITY)
    user = factory.user(org)
    make_record(db, user=user)
    actor = db.session.get(User, user.id)
    data = proposals.BidData("方案", "路线", 1000, 12, "团队")
    challenge = db.session.get(Challenge, challenge_id)
    with pytest.raises(ServiceError, match="因科研诚信记录"):
        proposals.submit_bid(challenge, actor, data)
    assert count(db, Proposal) == 0


def test_ended_or_revoked_restriction_no_longer_bars(
    enterprise_client, challenge_id, db
):
    org = enterprise_client.org
    make_record(
        db,
        org=org,
        decided_on=today(-400),
        restricted_until=today(-1),
    )
    revoked = make_record(db, org=org)
    db.session.get(IntegrityRecord, revoked).revoked_at = utcnow()
    db.session.commit()
    make_record(db, org=org, restricted_until=None)
    response = enterprise_client.post(
        f"/proposals/challenge/{challenge_id}/new", data=bid_data()
    )
    assert response.status_code == 302
    assert count(db, Proposal, Proposal.org_id == org.id) == 1


def test_org_record_bars_every_member_person_record_only_the_person(factory, login, db):
    org = factory.org(OrgKind.UNIVERSITY)
    person, colleague = member(factory, login, org), member(factory, login, org)
    owner = factory.org(OrgKind.ENTERPRISE)
    first = make_challenge(owner.id).id
    second = make_challenge(owner.id, title="第二个榜单").id
    make_record(db, user=person.user)
    response = person.post(f"/proposals/challenge/{first}/new", data=bid_data())
    assert response.status_code == 302
    assert count(db, Proposal) == 0
    response = colleague.post(f"/proposals/challenge/{first}/new", data=bid_data())
    assert count(db, Proposal) == 1  # the colleague is free
    # An organisation-wide record then bars the colleague too.
    make_record(db, org=org, source_document="驻科〔2026〕9 号")
    response = colleague.post(
        f"/proposals/challenge/{second}/new", data=bid_data(), follow_redirects=True
    )
    assert "驻科〔2026〕9 号" in response.get_data(as_text=True)
    assert count(db, Proposal) == 1


def test_restricted_org_cannot_be_named_in_a_consortium(
    factory, login, challenge_id, db
):
    bidder = member(factory, login, factory.org(OrgKind.UNIVERSITY))
    partner = factory.org(OrgKind.INSTITUTE, name="受限研究所")
    make_record(db, org=partner)
    response = bidder.post(
        f"/proposals/challenge/{challenge_id}/new", data=bid_data(members="受限研究所")
    )
    assert "受限研究所”处于科研诚信限制期内" in response.get_data(as_text=True)
    assert count(db, Proposal) == 0 and count(db, ProposalMember) == 0


def test_restricted_enterprise_cannot_adopt(enterprise_client, factory, db):
    university = factory.org(OrgKind.UNIVERSITY)
    result_id = make_result(university.id).id
    make_record(db, org=enterprise_client.org)
    page = enterprise_client.get(f"/results/{result_id}").get_data(as_text=True)
    assert "因科研诚信记录" in page and "提交转化申请" not in page
    response = enterprise_client.post(
        f"/results/{result_id}/apply",
        data={"use_scenario": "用于生产线。", "offered_terms": "一次性转让"},
        follow_redirects=True,
    )
    assert "因科研诚信记录" in response.get_data(as_text=True)
    assert count(db, Proposal) == 0
