"""The whole marketplace path of the listings issue, as users click through it.

CSRF is on, every step goes through the pages' own forms, and nothing is set up
behind the application's back except the accounts themselves.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.clock import local_today
from marketplace.models import (
    Challenge,
    Deal,
    Notification,
    OrgKind,
    Proposal,
    Result,
    UserRole,
)
from tests.conftest import PASSWORD
from tests.sample_files import PDF


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


class Browser:
    """A logged-in user who reads each page and submits its forms."""

    def __init__(self, app, user=None):
        self.client = app.test_client()
        self.token = None
        if user is not None:
            self.get("/auth/login")
            self.post("/auth/login", {"email": user.email, "password": PASSWORD})

    def get(self, url: str, status: int = 200) -> str:
        response = self.client.get(url)
        assert response.status_code == status, (url, response.status_code)
        page = response.get_data(as_text=True)
        found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        if found:
            self.token = found.group(1)
        return page

    def post(self, url: str, data: dict, status: int = 302):
        response = self.client.post(
            url, data={**data, "csrf_token": self.token}, content_type=None
        )
        assert response.status_code == status, (
            url,
            response.status_code,
            response.get_data(as_text=True)[:3000],
        )
        return response


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


@pytest.fixture
def people(csrf_on, app, factory):
    firm = factory.org(OrgKind.ENTERPRISE, name="驻马店示范食品有限公司")
    institute_a = factory.org(OrgKind.INSTITUTE, name="甲研究院")
    institute_b = factory.org(OrgKind.INSTITUTE, name="乙研究院")
    university = factory.org(OrgKind.UNIVERSITY, name="丙大学")
    bureau = factory.org(OrgKind.BUREAU, name="科技局")
    return {
        "firm": factory.user(firm, role=UserRole.ORG_ADMIN),
        "a": factory.user(institute_a),
        "b": factory.user(institute_b),
        "uni": factory.user(university),
        "bureau": factory.user(bureau),
        "orgs": {"firm": firm, "a": institute_a, "b": institute_b, "uni": university},
    }


def test_challenge_from_posting_to_award(app, db, people):
    firm = Browser(app, people["firm"])
    bureau = Browser(app, people["bureau"])
    deadline = (local_today() + timedelta(days=20)).isoformat()
    form = {
        "title": "花生制品黄曲霉毒素快速检测与脱毒技术",
        "description": "花生制品加工中黄曲霉毒素检测耗时长，需要现场检测与脱毒方案。",
        "technical_targets": "检测时间 ≤ 15 分钟，检出限 ≤ 1 μg/kg",
        "public_summary": "寻求黄曲霉毒素快速检测与脱毒技术。",
        "confidential_detail": "现有产线日处理 80 吨，脱毒工段温度 60℃。",
        "field": "",
        "region": "411724",
        "keywords": "黄曲霉毒素、快速检测、脱毒",
        "bounty": "80",
        "deadline": deadline,
        "allowed_bidder_kinds": ["institute", "university"],
        "consortium_allowed": "y",
        "contact_name": "王经理",
        "contact_phone": "0396-0000000",
        "contact_email": "wang@example.cn",
        "action": "submit",
    }
    # Pick 农业 from the options the page offers.
    page = firm.get("/challenges/new")
    form["field"] = re.search(
        r'<option value="([^"]+)"[^>]*>农业</option>', page
    ).group(1)
    created = firm.post("/challenges/new", form)
    challenge_url = created.headers["Location"]
    challenge_id = int(challenge_url.rstrip("/").split("/")[-1])

    # The bureau rejects it with a reason code; the firm sees why.
    queue = bureau.get("/bureau/reviews")
    assert "花生制品黄曲霉毒素" in queue
    bureau.post(
        f"/bureau/reviews/challenge/{challenge_id}/reject",
        {"reason_code": "incomplete", "note": "请补充现有检测方法与成本。"},
    )
    assert "请补充现有检测方法与成本" in firm.get(challenge_url)

    # The firm fixes it and resubmits; the bureau approves.
    firm.get(f"/challenges/{challenge_id}/edit")
    fixed = dict(form, description=form["description"] + "现用 HPLC，单次 2 小时。")
    firm.post(f"/challenges/{challenge_id}/edit", fixed)
    bureau.get("/bureau/reviews")
    bureau.post(f"/bureau/reviews/challenge/{challenge_id}/approve", {"note": ""})
    db.session.expire_all()
    assert db.session.get(Challenge, challenge_id).status == "open"

    # Institute A bids alone with a PDF; institute B bids as a consortium with
    # the university, which confirms, attaching a DOCX.
    for who, members, name, payload in (
        ("a", "", "方案.pdf", PDF),
        ("b", "丙大学", "技术路线.docx", docx()),
    ):
        bidder = Browser(app, people[who])
        bidder.get(challenge_url)
        bidder.get(f"/proposals/challenge/{challenge_id}/new")
        bidder.post(
            f"/proposals/challenge/{challenge_id}/new",
            {
                "solution": "免疫层析快速检测结合臭氧脱毒。",
                "technical_route": "试纸条研制 → 中试验证 → 产线集成。",
                "price": "60",
                "duration_months": "12",
                "team": "研究员 3 人，工程师 5 人。",
                "members": members,
                "attachments": (io.BytesIO(payload), name),
            },
        )
    bid_b = db.session.scalar(
        select(Proposal).where(Proposal.org_id == people["orgs"]["b"].id)
    )
    uni = Browser(app, people["uni"])
    uni.get(f"/proposals/{bid_b.id}")
    uni.post(f"/proposals/{bid_b.id}/membership", {"answer": "confirm"})

    # The deadline passes; the firm shortlists both and selects A.
    db.session.get(Challenge, challenge_id).deadline = local_today() - timedelta(days=1)
    db.session.commit()
    listing = firm.get(f"/proposals/challenge/{challenge_id}")
    assert "甲研究院" in listing and "乙研究院" in listing
    bids = {
        p.org_id: p.id
        for p in db.session.scalars(
            select(Proposal).where(Proposal.challenge_id == challenge_id)
        )
    }
    for bid_id in bids.values():
        firm.post(f"/proposals/{bid_id}/shortlist", {})
    firm.get(f"/proposals/challenge/{challenge_id}")
    winner = bids[people["orgs"]["a"].id]
    firm.post(
        f"/proposals/{winner}/select",
        {"reason_code": "route", "note": "对方方案检测更快", "confirm": "y"},
    )

    db.session.expire_all()
    assert db.session.get(Challenge, challenge_id).status == "awarded"
    statuses = {
        p.org_id: p.status
        for p in db.session.scalars(
            select(Proposal).where(Proposal.challenge_id == challenge_id)
        )
    }
    assert statuses[people["orgs"]["a"].id] == "selected"
    assert statuses[people["orgs"]["b"].id] == "declined"
    told = db.session.scalars(
        select(Notification.message).where(Notification.user_id == people["b"].id)
    ).all()
    assert any("未中选" in m or "方案检测更快" in m for m in told), told
    deal = db.session.scalar(select(Deal).where(Deal.challenge_id == challenge_id))
    assert deal.supply_org_id == people["orgs"]["a"].id
    assert deal.demand_org_id == people["orgs"]["firm"].id


def test_result_from_registration_to_adoption(app, db, people):
    uni = Browser(app, people["uni"])
    bureau = Browser(app, people["bureau"])
    firm = Browser(app, people["firm"])
    page = uni.get("/results/new")
    field = re.search(r'<option value="([^"]+)"[^>]*>农业</option>', page).group(1)
    created = uni.post(
        "/results/new",
        {
            "title": "花生黄曲霉毒素免疫层析快速检测试纸",
            "abstract": "15 分钟内完成花生及其制品中黄曲霉毒素 B1 的现场检测。",
            "field": field,
            "discipline": "食品科学与工程",
            "keywords": "黄曲霉毒素、快速检测",
            "trl": "6",
            "ip_type": "发明专利",
            "ip_numbers": "ZL2024XXXXXXXX.X",
            "transfer_modes": ["许可", "合作开发"],
            "price": "",
            "benefit": "检测成本降低 80%。",
            "valid_until": (local_today() + timedelta(days=365)).isoformat(),
            "contact_name": "李老师",
            "contact_phone": "0396-1111111",
            "contact_email": "li@example.cn",
        },
    )
    result_url = created.headers["Location"]
    result_id = int(result_url.rstrip("/").split("/")[-1])
    uni.get(result_url)
    uni.post(f"/results/{result_id}/submit", {})
    bureau.get("/bureau/reviews")
    bureau.post(f"/bureau/reviews/result/{result_id}/approve", {"note": ""})
    db.session.expire_all()
    assert db.session.get(Result, result_id).status == "published"

    assert "面议" in firm.get(result_url)
    firm.post(
        f"/results/{result_id}/apply",
        {
            "use_scenario": "用于花生酱生产线原料验收。",
            "offered_terms": "许可使用费 20 万元/年。",
        },
    )
    application = db.session.scalar(
        select(Proposal).where(Proposal.result_id == result_id)
    )
    uni.get(result_url)
    uni.post(f"/results/applications/{application.id}/accept", {})
    db.session.expire_all()
    assert db.session.get(Proposal, application.id).status == "selected"
    deal = db.session.scalar(select(Deal).where(Deal.result_id == result_id))
    assert deal.demand_org_id == people["orgs"]["firm"].id
    assert deal.supply_org_id == people["orgs"]["uni"].id
