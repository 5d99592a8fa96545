"""Research results (科技成果): registration, review, list, renewal and adoption."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import String, cast, func, select, text

from marketplace.clock import local_today, utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.listings import review
from marketplace.models import (
    AuditEvent,
    Deal,
    Notification,
    OrgKind,
    Proposal,
    ProposalStatus,
    Result,
    ResultStatus,
    TechField,
    User,
)
from marketplace.results import adoption, services
from tests.factories import make_result


def new_result(db, org_id, **fields) -> int:
    """A result (published by default); its id."""
    return make_result(org_id, **fields).id


def field_id(db, code="environment"):
    return db.session.scalar(select(TechField.id).where(TechField.code == code))


def form_data(db, **overrides):
    data = {
        "title": "玉米秸秆高值化利用技术",
        "abstract": "将秸秆转化为生物基材料。\n第二段。",
        "field": str(field_id(db, "agriculture")),
        "discipline": "农业工程",
        "keywords": "秸秆、生物基材料，综合利用",
        "trl": "6",
        "ip_type": "发明专利",
        "ip_numbers": "ZL202010000000.1",
        "transfer_modes": ["转让", "许可"],
        "price": "120.5",
        "benefit": "年增效益 500 万元。",
        "valid_until": (local_today() + timedelta(days=365)).isoformat(),
        "contact_name": "王老师",
        "contact_phone": "0396-2850000",
        "contact_email": "wang@example.edu.cn",
    }
    data.update(overrides)
    return data


def user_of(db, client):
    return db.session.get(User, client.user.id)


def count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def notes_for(db, client):
    return list(
        db.session.scalars(
            select(Notification.message).where(Notification.user_id == client.user.id)
        )
    )


def links_for(db, client):
    return list(
        db.session.scalars(
            select(Notification.link).where(Notification.user_id == client.user.id)
        )
    )


def apply_data(**overrides):
    data = {"use_scenario": "用于本厂秸秆板材生产线。", "offered_terms": "一次性转让"}
    data.update(overrides)
    return data


@pytest.fixture
def published(db, university_client):
    """A published result of the university client's organisation; returns its id."""
    return new_result(db, university_client.org.id)


# --- the whole path --------------------------------------------------------------


def test_register_review_adopt_accept_opens_deal(
    university_client, bureau_client, enterprise_client, db
):
    response = university_client.post("/results/new", data=form_data(db))
    assert response.status_code == 302
    result = db.session.scalar(select(Result))
    rid = result.id
    assert result.status == ResultStatus.DRAFT
    assert result.keywords == ["秸秆", "生物基材料", "综合利用"]
    assert result.price_fen == 120_500_000
    assert result.transfer_modes == ["转让", "许可"]
    assert result.created_by_id == university_client.user.id

    assert university_client.post(f"/results/{rid}/submit").status_code == 302
    db.session.expire_all()
    assert db.session.get(Result, rid).status == ResultStatus.PENDING_REVIEW
    # Not yet public.
    assert enterprise_client.get(f"/results/{rid}").status_code == 404

    review.approve(db.session.get(Result, rid), user_of(db, bureau_client))
    db.session.commit()
    assert db.session.get(Result, rid).status == ResultStatus.PUBLISHED
    assert "玉米秸秆" in enterprise_client.get("/results/").get_data(as_text=True)
    page = enterprise_client.get(f"/results/{rid}").get_data(as_text=True)
    assert "提交转化申请" in page and "TRL 6 级 · 中试" in page
    assert "时间线" not in page

    response = enterprise_client.post(f"/results/{rid}/apply", data=apply_data())
    assert response.status_code == 302
    proposal = db.session.scalar(select(Proposal))
    pid = proposal.id
    assert (proposal.kind, proposal.status) == ("adoption", ProposalStatus.SUBMITTED)
    assert (proposal.org_id, proposal.submitted_by_id) == (
        enterprise_client.org.id,
        enterprise_client.user.id,
    )
    assert any("收到成果转化申请" in n for n in notes_for(db, university_client))
    page = enterprise_client.get(f"/results/{rid}").get_data(as_text=True)
    assert "已提交" in page and "提交转化申请" not in page

    owner_page = university_client.get(f"/results/{rid}").get_data(as_text=True)
    assert "用于本厂秸秆板材生产线" in owner_page and "接受并创建撮合项目" in owner_page
    assert "时间线" in owner_page and "收到转化申请" in owner_page

    response = university_client.post(f"/results/applications/{pid}/accept")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Proposal, pid).status == ProposalStatus.SELECTED
    assert db.session.get(Proposal, pid).decided_at is not None
    deal = db.session.scalar(select(Deal))
    assert (deal.demand_org_id, deal.supply_org_id) == (
        enterprise_client.org.id,
        university_client.org.id,
    )
    assert (deal.result_id, deal.proposal_id, deal.stage) == (rid, pid, "lead")
    assert deal.title == "玉米秸秆高值化利用技术"
    assert deal.created_by_id == university_client.user.id
    assert [e.note for e in deal.events] == ["由成果转化申请创建"]
    assert any("已被接受" in n for n in notes_for(db, enterprise_client))
    # The notification opens the deal itself, not a list.
    assert f"/deals/{deal.id}" in links_for(db, enterprise_client)
    # The result stays on the market: a licence can go to several firms.
    assert db.session.get(Result, rid).status == ResultStatus.PUBLISHED

    bureau_page = bureau_client.get(f"/results/{rid}").get_data(as_text=True)
    assert "时间线" in bureau_page and "接受转化申请" in bureau_page
    assert "接受并创建撮合项目" not in bureau_page
    mine = enterprise_client.get("/results/mine").get_data(as_text=True)
    assert "中选" in mine


def test_reject_then_fix_and_resubmit(university_client, bureau_client, db):
    university_client.post("/results/new", data=form_data(db))
    rid = db.session.scalar(select(Result.id))
    university_client.post(f"/results/{rid}/submit")
    review.reject(
        db.session.get(Result, rid),
        user_of(db, bureau_client),
        "incomplete",
        "请补充<b>专利号</b>",
    )
    db.session.commit()
    page = university_client.get(f"/results/{rid}").get_data(as_text=True)
    assert "信息不完整" in page and "请补充&lt;b&gt;专利号&lt;/b&gt;" in page
    response = university_client.post(
        f"/results/{rid}/edit", data=form_data(db, ip_numbers="ZL1")
    )
    assert response.status_code == 302
    university_client.post(f"/results/{rid}/submit")
    db.session.expire_all()
    result = db.session.get(Result, rid)
    assert (result.status, result.ip_numbers) == (ResultStatus.PENDING_REVIEW, "ZL1")
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "results", AuditEvent.object_id == rid)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "result_created",
        "result_submitted",
        "result_rejected",
        "result_updated",
        "result_submitted",
    ]


# --- who may register, edit and see ------------------------------------------------


@pytest.mark.parametrize(
    "client_name", ["enterprise_client", "agency_client", "bureau_client"]
)
def test_only_universities_and_institutes_register(request, client_name, db):
    client = request.getfixturevalue(client_name)
    assert client.get("/results/new").status_code == 403
    assert client.post("/results/new", data=form_data(db)).status_code == 403
    assert count(db, Result) == 0


def test_institute_registers(institute_client, db):
    assert institute_client.get("/results/new").status_code == 200
    assert institute_client.post("/results/new", data=form_data(db)).status_code == 302
    assert count(db, Result) == 1


def test_unverified_university_drafts_but_cannot_submit(factory, login, db):
    org = factory.org(OrgKind.UNIVERSITY, verified=False)
    client = login(factory.user(org))
    assert client.post("/results/new", data=form_data(db)).status_code == 302
    rid = db.session.scalar(select(Result.id))
    page = client.post(f"/results/{rid}/submit", follow_redirects=True)
    assert "通过科技局审核后才能提交发布" in page.get_data(as_text=True)
    assert db.session.get(Result, rid).status == ResultStatus.DRAFT


def test_anonymous_is_sent_to_login(client, published, db):
    assert client.get("/results/new").status_code == 302
    response = client.post(f"/results/{published}/apply", data=apply_data())
    assert response.status_code in (302, 401)
    assert count(db, Proposal) == 0
    assert client.get(f"/results/{published}").status_code == 200


def test_other_orgs_draft_is_404_everywhere(university_client, factory, login, db):
    rid = new_result(db, university_client.org.id, status=ResultStatus.DRAFT)
    other = login(factory.user(factory.org(OrgKind.UNIVERSITY)))
    for method, path, data in (
        ("get", f"/results/{rid}", None),
        ("get", f"/results/{rid}/edit", None),
        ("post", f"/results/{rid}/edit", form_data(db, title="改")),
        ("post", f"/results/{rid}/submit", None),
        ("post", f"/results/{rid}/withdraw", None),
        ("post", f"/results/{rid}/renew", {"valid_until": "2099-01-01"}),
        ("post", f"/results/{rid}/apply", apply_data()),
    ):
        response = getattr(other, method)(path, data=data)
        assert response.status_code == 404, path
    db.session.expire_all()
    result = db.session.get(Result, rid)
    assert (result.status, result.title) == (
        ResultStatus.DRAFT,
        "高效低耗生物膜废水处理工艺",
    )
    assert "高效低耗" not in other.get("/results/").get_data(as_text=True)
    assert "高效低耗" in university_client.get("/results/mine").get_data(as_text=True)
    assert "高效低耗" not in other.get("/results/mine").get_data(as_text=True)


def test_bureau_sees_drafts_read_only(university_client, bureau_client, db):
    rid = new_result(db, university_client.org.id, status=ResultStatus.DRAFT)
    assert bureau_client.get(f"/results/{rid}").status_code == 200
    assert bureau_client.get(f"/results/{rid}/edit").status_code == 403
    assert bureau_client.post(f"/results/{rid}/withdraw").status_code == 403
    assert db.session.get(Result, rid).status == ResultStatus.DRAFT


def test_published_result_cannot_be_edited(university_client, published, db):
    assert university_client.get(f"/results/{published}/edit").status_code == 403
    response = university_client.post(
        f"/results/{published}/edit", data=form_data(db, title="新名称")
    )
    assert response.status_code == 403
    assert db.session.get(Result, published).title == "高效低耗生物膜废水处理工艺"


def test_colleague_edits_draft_form_shows_stored_values(
    university_client, factory, login, db
):
    rid = new_result(db, university_client.org.id, status=ResultStatus.DRAFT)
    colleague = login(factory.user(university_client.org))
    page = colleague.get(f"/results/{rid}/edit").get_data(as_text=True)
    assert "生物膜、废水处理" in page and 'value="30"' in page
    response = colleague.post(f"/results/{rid}/edit", data=form_data(db, price=""))
    assert response.status_code == 302
    db.session.expire_all()
    result = db.session.get(Result, rid)
    assert result.price_fen is None and result.title == "玉米秸秆高值化利用技术"
    assert "面议" in colleague.get(f"/results/{rid}").get_data(as_text=True)


def test_owner_withdraws_published_result(university_client, factory, login, db):
    rid = new_result(db, university_client.org.id)
    stranger = login(factory.user(factory.org(OrgKind.UNIVERSITY)))
    assert stranger.post(f"/results/{rid}/withdraw").status_code == 403
    assert db.session.get(Result, rid).status == ResultStatus.PUBLISHED
    university_client.post(f"/results/{rid}/withdraw")
    db.session.expire_all()
    assert db.session.get(Result, rid).status == ResultStatus.WITHDRAWN
    page = university_client.post(f"/results/{rid}/withdraw", follow_redirects=True)
    assert "当前状态下不能撤回" in page.get_data(as_text=True)


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"price": "abc"}, "金额只能是"),
        ({"price": "NaN"}, "金额只能是"),
        ({"price": "inf"}, "金额只能是"),
        ({"price": "1e3"}, "金额只能是"),
        ({"price": "-5"}, "金额只能是"),
        ({"price": "10000001"}, "金额过大"),
        ({"valid_until": "2000-01-01"}, "今天以后"),
        ({"valid_until": "TODAY"}, "今天以后"),
        ({"valid_until": "LATE"}, "有效期最长 3 年"),
        ({"valid_until": "2024-02-30"}, ""),
        ({"valid_until": ""}, "请填写有效期"),
        ({"transfer_modes": []}, "请至少选择一种转化方式"),
        ({"transfer_modes": ["赠送"]}, ""),
        ({"keywords": "、".join(f"词{i}" for i in range(11))}, "关键词最多 10 个"),
        ({"keywords": "长" * 21}, "不超过 20 个字"),
        ({"trl": "10"}, ""),
        ({"trl": ""}, "请选择成熟度"),
        ({"ip_type": "商标"}, ""),
        ({"field": "99999"}, ""),
        ({"field": ""}, "请选择技术领域"),
        ({"title": "   "}, "请填写成果名称"),
        ({"title": "x" * 201}, "200"),
        ({"discipline": "学" * 61}, "60"),
        ({"abstract": ""}, "请填写成果简介"),
        ({"title": "成果\x1b名称"}, "控制字符"),
        ({"contact_email": "not-an-email"}, "有效的邮箱地址"),
    ],
)
def test_bad_input_is_refused(university_client, db, overrides, message):
    today = local_today()
    special = {
        "TODAY": today.isoformat(),
        "LATE": (today + timedelta(days=3 * 366 + 2)).isoformat(),
    }
    if overrides.get("valid_until") in special:
        overrides = {"valid_until": special[overrides["valid_until"]]}
    response = university_client.post("/results/new", data=form_data(db, **overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "is-invalid" in page
    assert message in page
    assert count(db, Result) == 0


def test_edit_bad_input_changes_nothing(university_client, db):
    rid = new_result(db, university_client.org.id, status=ResultStatus.DRAFT)
    response = university_client.post(
        f"/results/{rid}/edit", data=form_data(db, price="1e9", title="新")
    )
    assert response.status_code == 200
    db.session.expire_all()
    result = db.session.get(Result, rid)
    assert (result.title, result.price_fen) == (
        "高效低耗生物膜废水处理工艺",
        30_000_000,
    )


def test_service_refuses_bad_data_directly(db, factory):
    user_id = factory.user(factory.org(OrgKind.UNIVERSITY)).id
    enterprise_id = factory.user(factory.org()).id
    user = db.session.get(User, user_id)
    data = services.ResultData(
        title="t",
        abstract="a",
        field_id=field_id(db),
        valid_until=local_today() + timedelta(days=10),
        transfer_modes=["转让", "赠送"],
    )
    with pytest.raises(ServiceError) as caught:
        services.create_result(user, data)
    assert caught.value.field == "transfer_modes"
    data.transfer_modes = ["许可"]
    data.price_fen = -1
    with pytest.raises(ServiceError):
        services.create_result(user, data)
    enterprise = db.session.get(User, enterprise_id)
    data.price_fen = None
    with pytest.raises(StateError):
        services.create_result(enterprise, data)
    assert services.create_result(user, data).transfer_modes == ["许可"]


def test_html_is_escaped(university_client, enterprise_client, db):
    evil = '<script>alert("x")</script>'
    university_client.post(
        "/results/new",
        data=form_data(db, title=evil, abstract=evil, keywords="<b>粗体</b>"),
    )
    rid = db.session.scalar(select(Result.id))

    def check(client, path):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<b>粗体" not in page, path
        assert "&lt;script&gt;" in page, path

    check(university_client, f"/results/{rid}/edit")
    check(university_client, f"/results/{rid}")
    check(university_client, "/results/mine")
    result = db.session.get(Result, rid)
    result.status = ResultStatus.PUBLISHED
    db.session.commit()
    check(enterprise_client, "/results/")
    check(enterprise_client, f"/results/{rid}")
    enterprise_client.post(
        f"/results/{rid}/apply", data=apply_data(use_scenario=evil, offered_terms=evil)
    )
    assert count(db, Proposal) == 1
    check(university_client, f"/results/{rid}")
    page = university_client.get(f"/results/{rid}").get_data(as_text=True)
    assert page.count("&lt;script&gt;") >= 4


# --- adoption: denied cases ----------------------------------------------------------


def test_university_cannot_apply(university_client, factory, db):
    rid = new_result(db, factory.org(OrgKind.INSTITUTE).id)
    response = university_client.post(f"/results/{rid}/apply", data=apply_data())
    assert response.status_code == 403
    assert count(db, Proposal) == 0


def test_owner_cannot_apply_to_its_own(enterprise_client, university_client, db):
    own = new_result(db, enterprise_client.org.id)
    response = enterprise_client.post(f"/results/{own}/apply", data=apply_data())
    assert response.status_code == 403
    other = new_result(db, university_client.org.id)
    response = university_client.post(f"/results/{other}/apply", data=apply_data())
    assert response.status_code == 403
    assert count(db, Proposal) == 0


def test_unverified_enterprise_cannot_apply(unverified_client, published, db):
    page = unverified_client.get(f"/results/{published}").get_data(as_text=True)
    assert "通过科技局审核后可申请转化" in page
    response = unverified_client.post(f"/results/{published}/apply", data=apply_data())
    assert response.status_code == 403
    assert count(db, Proposal) == 0


def test_application_needs_both_texts(enterprise_client, published, db):
    for data in (apply_data(use_scenario=" "), apply_data(offered_terms="")):
        response = enterprise_client.post(f"/results/{published}/apply", data=data)
        assert response.status_code == 200
        assert "请填写" in response.get_data(as_text=True)
    assert count(db, Proposal) == 0


def test_second_application_from_same_org_refused(
    enterprise_client, factory, login, published, db
):
    colleague = login(factory.user(enterprise_client.org))
    enterprise_client.post(f"/results/{published}/apply", data=apply_data())
    response = colleague.post(
        f"/results/{published}/apply", data=apply_data(), follow_redirects=True
    )
    assert "贵机构已提交过申请。" in response.get_data(as_text=True)
    assert count(db, Proposal) == 1


def test_database_decides_duplicate_application(db, factory, published):
    firm = factory.org()
    user = db.session.get(User, factory.user(firm).id)
    result = db.session.get(Result, published)
    adoption.apply_to_adopt(result, user, "场景", "条件")
    db.session.commit()
    with pytest.raises(ServiceError, match="贵机构已提交过申请"):
        adoption.apply_to_adopt(result, user, "场景", "条件")
    assert count(db, Proposal) == 1


def test_reapply_after_withdrawing(enterprise_client, published, db):
    enterprise_client.post(f"/results/{published}/apply", data=apply_data())
    pid = db.session.scalar(select(Proposal.id))
    enterprise_client.post(f"/results/applications/{pid}/withdraw")
    assert db.session.get(Proposal, pid).status == ProposalStatus.WITHDRAWN
    page = enterprise_client.get(f"/results/{published}").get_data(as_text=True)
    assert "提交转化申请" in page
    enterprise_client.post(f"/results/{published}/apply", data=apply_data())
    assert count(db, Proposal) == 2


@pytest.mark.parametrize(
    "status", [ResultStatus.WITHDRAWN, ResultStatus.EXPIRED, ResultStatus.DRAFT]
)
def test_applying_to_unpublished_result_is_refused(
    enterprise_client, university_client, db, status
):
    rid = new_result(db, university_client.org.id, status=status)
    response = enterprise_client.post(f"/results/{rid}/apply", data=apply_data())
    assert response.status_code == 404
    assert count(db, Proposal) == 0


def test_applying_after_valid_until_is_refused(
    enterprise_client, university_client, db
):
    rid = new_result(
        db, university_client.org.id, valid_until=local_today() - timedelta(days=1)
    )
    response = enterprise_client.post(f"/results/{rid}/apply", data=apply_data())
    assert response.status_code == 404
    assert count(db, Proposal) == 0


def test_service_refuses_overdue_and_transferred(db, factory, university_client):
    user = db.session.get(User, factory.user(factory.org()).id)
    overdue = make_result(
        university_client.org.id, valid_until=local_today() - timedelta(days=1)
    )
    transferred = make_result(university_client.org.id, status=ResultStatus.TRANSFERRED)
    for result in (overdue, transferred):
        with pytest.raises(StateError, match="不接受转化申请"):
            adoption.apply_to_adopt(result, user, "场景", "条件")
    assert count(db, Proposal) == 0


def test_transferred_result_shows_no_form(enterprise_client, university_client, db):
    rid = new_result(db, university_client.org.id, status=ResultStatus.TRANSFERRED)
    page = enterprise_client.get(f"/results/{rid}").get_data(as_text=True)
    assert "当前不接受转化申请" in page and "提交转化申请" not in page


# --- adoption: deciding ---------------------------------------------------------


@pytest.fixture
def application(db, enterprise_client, published):
    """An enterprise's submitted application on the published result; its id."""
    enterprise_client.post(f"/results/{published}/apply", data=apply_data())
    pid = db.session.scalar(select(Proposal.id))
    return pid


def test_non_owners_cannot_decide(
    enterprise_client, bureau_client, factory, login, application, db
):
    stranger = login(factory.user(factory.org()))
    institute = login(factory.user(factory.org(OrgKind.INSTITUTE)))
    for verb, data in (("accept", {}), ("decline", {"reason": "不合适"})):
        url = f"/results/applications/{application}/{verb}"
        assert enterprise_client.post(url, data=data).status_code == 403
        assert bureau_client.post(url, data=data).status_code == 403
        assert stranger.post(url, data=data).status_code == 404
        assert institute.post(url, data=data).status_code == 404
    db.session.expire_all()
    assert db.session.get(Proposal, application).status == ProposalStatus.SUBMITTED
    assert count(db, Deal) == 0


def test_decline_needs_reason_and_tells_applicant(
    university_client, enterprise_client, application, db
):
    url = f"/results/applications/{application}/decline"
    page = university_client.post(url, data={"reason": "  "}, follow_redirects=True)
    assert "请填写婉拒理由" in page.get_data(as_text=True)
    assert db.session.get(Proposal, application).status == ProposalStatus.SUBMITTED
    university_client.post(url, data={"reason": "已与其他企业独家许可"})
    db.session.expire_all()
    proposal = db.session.get(Proposal, application)
    assert proposal.status == ProposalStatus.DECLINED
    assert proposal.decline_reason == "已与其他企业独家许可"
    assert any("未被接受" in n for n in notes_for(db, enterprise_client))
    assert f"/results/{proposal.result_id}#adopt" in links_for(db, enterprise_client)
    mine = enterprise_client.get("/results/mine").get_data(as_text=True)
    assert "已与其他企业独家许可" in mine
    # Decided is final: neither accept nor a new application gets through.
    page = university_client.post(
        f"/results/applications/{application}/accept", follow_redirects=True
    )
    assert "该申请已处理" in page.get_data(as_text=True)
    assert count(db, Deal) == 0
    page = enterprise_client.post(
        f"/results/{proposal.result_id}/apply",
        data=apply_data(),
        follow_redirects=True,
    )
    assert "贵机构已提交过申请。" in page.get_data(as_text=True)
    assert (
        enterprise_client.post(
            f"/results/applications/{application}/withdraw"
        ).status_code
        == 302
    )
    assert db.session.get(Proposal, application).status == ProposalStatus.DECLINED


def test_accept_twice_gives_one_deal(university_client, application, db):
    url = f"/results/applications/{application}/accept"
    university_client.post(url)
    page = university_client.post(url, follow_redirects=True)
    assert "该申请已处理" in page.get_data(as_text=True)
    assert count(db, Deal) == 1


def test_other_applications_stay_when_one_is_accepted(
    university_client, factory, login, published, application, db
):
    other = login(factory.user(factory.org()))
    other.post(f"/results/{published}/apply", data=apply_data())
    university_client.post(f"/results/applications/{application}/accept")
    statuses = sorted(db.session.scalars(select(Proposal.status)).all())
    assert statuses == ["selected", "submitted"]


def test_withdraw_application_rules(
    university_client, enterprise_client, application, db
):
    url = f"/results/applications/{application}/withdraw"
    assert university_client.post(url).status_code == 403
    assert db.session.get(Proposal, application).status == ProposalStatus.SUBMITTED
    enterprise_client.post(url)
    db.session.expire_all()
    assert db.session.get(Proposal, application).status == ProposalStatus.WITHDRAWN
    assert any("已撤回" in n for n in notes_for(db, university_client))
    page = university_client.post(
        f"/results/applications/{application}/accept", follow_redirects=True
    )
    assert "该申请已处理" in page.get_data(as_text=True)
    assert count(db, Deal) == 0


def test_withdraw_after_acceptance_refused(
    university_client, enterprise_client, application, db
):
    university_client.post(f"/results/applications/{application}/accept")
    page = enterprise_client.post(
        f"/results/applications/{application}/withdraw", follow_redirects=True
    )
    assert "申请已处理，不能撤回" in page.get_data(as_text=True)
    assert db.session.get(Proposal, application).status == ProposalStatus.SELECTED


def test_cannot_decide_on_withdrawn_result(
    university_client, published, application, db
):
    university_client.post(f"/results/{published}/withdraw")
    page = university_client.post(
        f"/results/applications/{application}/accept", follow_redirects=True
    )
    assert "成果已撤回" in page.get_data(as_text=True)
    assert count(db, Deal) == 0


def test_unknown_application_is_404(university_client):
    assert (
        university_client.post("/results/applications/999999/accept").status_code == 404
    )


# --- freshness: lazy expiry and renewal ----------------------------------------------


def test_expiry_computed_on_access_and_written_by_expire(
    client, university_client, runner, db
):
    rid = new_result(
        db, university_client.org.id, valid_until=local_today() - timedelta(days=1)
    )
    assert client.get(f"/results/{rid}").status_code == 404
    page = university_client.get(f"/results/{rid}").get_data(as_text=True)
    assert "已过期" in page and "续期" in page
    db.session.expire_all()
    assert db.session.get(Result, rid).status == ResultStatus.PUBLISHED
    assert runner.invoke(args=["listings", "expire"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(Result, rid).status == ResultStatus.EXPIRED
    assert count(db, AuditEvent, AuditEvent.action == "result_expired") == 1
    page = university_client.get(f"/results/{rid}").get_data(as_text=True)
    assert "已过期" in page and "有效期届满" in page and "续期" in page
    assert count(db, AuditEvent, AuditEvent.action == "result_expired") == 1


def test_overdue_results_are_off_the_list(client, university_client, db):
    new_result(
        db,
        university_client.org.id,
        title="过期未清理成果",
        valid_until=local_today() - timedelta(days=1),
    )
    new_result(
        db, university_client.org.id, title="今天到期成果", valid_until=local_today()
    )
    page = client.get("/results/").get_data(as_text=True)
    assert "过期未清理成果" not in page and "今天到期成果" in page


def test_renew_published_result(university_client, db):
    rid = new_result(db, university_client.org.id)
    result = db.session.get(Result, rid)
    result.reminded_at = result.created_at
    db.session.commit()
    new_date = local_today() + timedelta(days=700)
    university_client.post(
        f"/results/{rid}/renew", data={"valid_until": new_date.isoformat()}
    )
    db.session.expire_all()
    result = db.session.get(Result, rid)
    assert (result.status, result.valid_until) == (ResultStatus.PUBLISHED, new_date)
    assert result.reminded_at is None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "result_renewed")
    )
    assert (event.object_id, event.user_id) == (rid, university_client.user.id)


def test_renew_expired_result_publishes_it_again(
    university_client, enterprise_client, db
):
    rid = new_result(db, university_client.org.id, status=ResultStatus.EXPIRED)
    assert enterprise_client.get(f"/results/{rid}").status_code == 404
    new_date = local_today() + timedelta(days=30)
    university_client.post(
        f"/results/{rid}/renew", data={"valid_until": new_date.isoformat()}
    )
    db.session.expire_all()
    assert db.session.get(Result, rid).status == ResultStatus.PUBLISHED
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "result_renewed")
    )
    assert (event.from_state, event.to_state) == ("expired", "published")
    assert enterprise_client.get(f"/results/{rid}").status_code == 200


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("PAST", "今天以后"),
        ("TODAY", "今天以后"),
        ("LATE", "有效期最长 3 年"),
        ("not-a-date", ""),
        ("", "请填写新的有效期"),
    ],
)
def test_renew_bad_dates(university_client, db, value, message):
    rid = new_result(db, university_client.org.id, status=ResultStatus.EXPIRED)
    today = local_today()
    value = {
        "PAST": (today - timedelta(days=1)).isoformat(),
        "TODAY": today.isoformat(),
        "LATE": (today + timedelta(days=3 * 366 + 2)).isoformat(),
    }.get(value, value)
    page = university_client.post(
        f"/results/{rid}/renew", data={"valid_until": value}, follow_redirects=True
    ).get_data(as_text=True)
    assert "续期未完成" in page and message in page
    db.session.expire_all()
    assert db.session.get(Result, rid).status == ResultStatus.EXPIRED


def test_renew_refused_for_others_and_wrong_states(
    university_client, factory, login, db
):
    rid = new_result(db, university_client.org.id)
    stranger = login(factory.user(factory.org(OrgKind.UNIVERSITY)))
    new_date = (local_today() + timedelta(days=30)).isoformat()
    response = stranger.post(f"/results/{rid}/renew", data={"valid_until": new_date})
    assert response.status_code == 403
    draft = new_result(db, university_client.org.id, status=ResultStatus.DRAFT)
    page = university_client.post(
        f"/results/{draft}/renew", data={"valid_until": new_date}, follow_redirects=True
    )
    assert "只有已发布或已过期的成果可以续期" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Result, draft).status == ResultStatus.DRAFT
    assert db.session.get(Result, rid).valid_until != local_today() + timedelta(days=30)
    assert count(db, AuditEvent, AuditEvent.action == "result_renewed") == 0


# --- list, filters, sort --------------------------------------------------------------


@pytest.fixture
def catalogue(db, university_client):
    """Results spread over fields, maturity, modes and prices."""
    org = university_client.org.id
    rows = [
        ("甲成果", "agriculture", 2, ["转让"], 5_000_000),
        ("乙成果", "agriculture", 5, ["许可", "合作开发"], 50_000_000),
        ("丙成果", "new_materials", 7, ["作价投资"], None),
        ("丁成果", "new_materials", 9, ["转让", "许可"], 200_000_000),
        ("百分号%成果", "environment", 6, ["合作开发"], 0),
    ]
    for number, (title, code, trl, modes, price) in enumerate(rows):
        make_result(
            org,
            title=title,
            field_id=field_id(db, code),
            trl=trl,
            transfer_modes=modes,
            price_fen=price,
            published_at=utcnow() - timedelta(days=10 - number),
        )
    make_result(org, title="草稿成果", status=ResultStatus.DRAFT)
    make_result(org, title="待审成果", status=ResultStatus.PENDING_REVIEW)
    return [r[0] for r in rows]


def listed(client, **params) -> set[str]:
    page = client.get("/results/", query_string=params).get_data(as_text=True)
    names = {
        "甲成果",
        "乙成果",
        "丙成果",
        "丁成果",
        "百分号%成果",
        "草稿成果",
        "待审成果",
    }
    return {name for name in names if name in page}


def test_list_shows_public_results_only(client, university_client, catalogue):
    assert listed(client) == set(catalogue)
    # Even for the owner the list is the market; drafts live under "mine".
    assert listed(university_client) == set(catalogue)
    mine = university_client.get("/results/mine").get_data(as_text=True)
    assert "草稿成果" in mine and "待审成果" in mine


def test_filters(client, catalogue):
    assert listed(client, field="agriculture") == {"甲成果", "乙成果"}
    assert listed(client, maturity="rd") == {"甲成果"}
    assert listed(client, maturity="lab") == {"乙成果"}
    assert listed(client, maturity="pilot") == {"丙成果", "百分号%成果"}
    assert listed(client, maturity="industry") == {"丁成果"}
    assert listed(client, mode="转让") == {"甲成果", "丁成果"}
    assert listed(client, mode="许可") == {"乙成果", "丁成果"}
    assert listed(client, mode="作价投资") == {"丙成果"}
    assert listed(client, mode="合作开发") == {"乙成果", "百分号%成果"}
    assert listed(client, min="5", max="50") == {"甲成果", "乙成果"}
    assert listed(client, min="0", max="0") == {"百分号%成果"}
    assert listed(client, min="100") == {"丁成果"}
    assert listed(client, field="new_materials", mode="许可") == {"丁成果"}
    assert listed(client, q="%") == {"百分号%成果"}
    assert listed(client, q="_") == set()
    assert listed(client, q="乙") == {"乙成果"}


def test_transfer_modes_stored_unescaped_still_match(client, university_client, db):
    # Whatever serialiser wrote the JSON, the filter finds the quoted value.
    rid = new_result(db, university_client.org.id, title="原样存储成果")
    sql = "UPDATE results SET transfer_modes = :v WHERE id = :id"
    if db.engine.dialect.name == "postgresql":
        sql = "UPDATE results SET transfer_modes = CAST(:v AS JSON) WHERE id = :id"
    db.session.execute(text(sql), {"v": '["许可"]', "id": rid})
    db.session.commit()
    stored = db.session.scalar(
        select(cast(Result.transfer_modes, String)).where(Result.id == rid)
    )
    assert "许可" in stored
    page = client.get("/results/", query_string={"mode": "许可"}).get_data(as_text=True)
    assert "原样存储成果" in page
    page = client.get("/results/", query_string={"mode": "转让"}).get_data(as_text=True)
    assert "原样存储成果" not in page


@pytest.mark.parametrize(
    "params",
    [
        {"min": "abc"},
        {"max": "NaN"},
        {"min": "1e5"},
        {"max": "-1"},
        {"min": "99999999999"},
        {"field": "bogus"},
        {"maturity": "x"},
        {"mode": "%"},
        {"sort": "evil"},
        {"page": "-3"},
        {"page": "abc"},
        {"q": "x" * 500},
    ],
)
def test_odd_filter_values_never_fail(client, catalogue, params):
    response = client.get("/results/", query_string=params)
    assert response.status_code == 200


def test_bad_price_filter_is_ignored_with_a_note(client, catalogue):
    page = client.get("/results/", query_string={"min": "abc", "max": "10"})
    text = page.get_data(as_text=True)
    assert "价格筛选已忽略" in text
    assert listed(client, min="abc", max="10") == {"甲成果", "百分号%成果"}


def test_sort_by_price_puts_negotiable_last(client, catalogue):
    def order(sort):
        page = client.get("/results/", query_string={"sort": sort}).get_data(
            as_text=True
        )
        return sorted(catalogue, key=page.index)

    assert order("price_asc") == ["百分号%成果", "甲成果", "乙成果", "丁成果", "丙成果"]
    assert order("price_desc") == [
        "丁成果",
        "乙成果",
        "甲成果",
        "百分号%成果",
        "丙成果",
    ]
    assert order("newest") == ["百分号%成果", "丁成果", "丙成果", "乙成果", "甲成果"]


def test_pagination(client, university_client, db):
    for number in range(23):
        make_result(university_client.org.id, title=f"分页成果{number:02d}")
    first = client.get("/results/").get_data(as_text=True)
    second = client.get("/results/", query_string={"page": 2}).get_data(as_text=True)
    assert first.count("分页成果") == 20 and second.count("分页成果") == 3
    assert "共 23 条" in first


def test_trl_band_labels():
    assert [services.trl_band(n) for n in range(1, 10)] == [
        "研发",
        "研发",
        "研发",
        "小试",
        "小试",
        "中试",
        "中试",
        "产业化",
        "产业化",
    ]
    assert services.trl_band(None) == ""
