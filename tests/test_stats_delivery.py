"""The bureau's 揭榜挂帅 delivery figures, each against hand-built rows."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from marketplace.models import (
    Acceptance,
    AcceptanceConclusion,
    AcceptanceKind,
    ChallengeStatus,
    ContractStatus,
    Deliverable,
    Exemption,
    ExemptionStatus,
    ExpertProfile,
    IntegrityRecord,
    Milestone,
    MilestoneStatus,
    OrgKind,
    PanelMember,
    PanelPurpose,
    PanelStatus,
    Project,
    ProjectStatus,
    ReviewPanel,
)
from marketplace.stats import delivery, exports
from tests.factories import awarded_challenge, contract_between, project_for

WAN = 1_000_000
LOCAL = ZoneInfo("Asia/Shanghai")
Y_START, Y_END = date(2024, 1, 1), date(2024, 12, 31)
RANGE = {"from": "2024-01-01", "to": "2024-12-31"}
TODAY = date(2024, 7, 1)
_serial = itertools.count(10**13)

P, R, C, F = (
    ProjectStatus.PLANNING,
    ProjectStatus.RUNNING,
    ProjectStatus.COMPLETED,
    ProjectStatus.FAILED,
)
MA, MP, MS, MR = (
    MilestoneStatus.ACCEPTED,
    MilestoneStatus.PENDING,
    MilestoneStatus.SUBMITTED,
    MilestoneStatus.RETURNED,
)


def _at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    """A local moment of the city, as the UTC datetime the app stores."""
    moment = datetime.fromisoformat(day).replace(hour=hour, minute=minute)
    return moment.replace(tzinfo=LOCAL).astimezone(UTC)


def _project(db, parties, status, budget_wan, released_wan, created) -> Project:
    owner, winner = parties
    budget, released = budget_wan * WAN, released_wan * WAN
    challenge_id, bid_id = awarded_challenge(
        owner.id, winner.id, {"price_fen": budget},
        status=ChallengeStatus.CONTRACTED, bounty_fen=budget, awarded_at=None,
    )  # fmt: skip
    contract_id = contract_between(
        owner.id, winner.id, title="揭榜项目合同", challenge_id=challenge_id,
        signed_on=created.date(), amount_fen=budget, tech_amount_fen=budget,
        paid_fen=released, status=ContractStatus.REGISTERED,
        registration_no=str(next(_serial)),
    )  # fmt: skip
    project_id = project_for(
        challenge_id, contract_id, bid_id, released_fen=released, status=status,
        created_at=created,
    )  # fmt: skip
    return db.session.get(Project, project_id)


def _milestone(db, project, seq, due, status, submissions=(), **kw) -> Milestone:
    milestone = Milestone(
        project_id=project.id,
        seq=seq,
        deliverable=f"第{seq}期成果",
        due_on=date.fromisoformat(due),
        amount_fen=0,
        status=status,
        **kw,
    )
    for moment in submissions:
        milestone.submissions.append(Deliverable(note="提交", created_at=moment))
    db.session.add(milestone)
    return milestone


@pytest.fixture
def projects(factory, db):
    """Nine projects: seven started in 2024, two just outside (local midnight)."""
    parties = (factory.org(kind=OrgKind.ENTERPRISE), factory.org(OrgKind.UNIVERSITY))
    made = {
        "p1": _project(db, parties, P, 100, 0, _at("2024-02-01")),
        "p2": _project(db, parties, R, 200, 50, _at("2024-03-01")),
        # 00:30 on New Year's Day in the city is still 2023 in UTC: inside.
        "p3": _project(db, parties, R, 50, 10, _at("2024-01-01", 0, 30)),
        "p4": _project(db, parties, C, 30, 30, _at("2024-04-01")),
        "p5": _project(db, parties, F, 60, 20, _at("2024-05-01")),
        "p6": _project(db, parties, F, 40, 0, _at("2024-12-31", 23, 30)),
        "p7": _project(db, parties, R, 70, 0, _at("2023-12-31", 23, 30)),
        "p8": _project(db, parties, F, 90, 5, _at("2025-01-01", 0, 30)),
        "p9": _project(db, parties, F, 10, 0, _at("2024-08-01")),
    }
    db.session.commit()
    return made


def test_projects_by_stage_with_bounties_and_money_released(projects, db):
    result = delivery.projects_by_stage(Y_START, Y_END)
    rows = {row["key"]: row for row in result["rows"]}
    assert [r["label"] for r in result["rows"]] == [
        "计划制定中",
        "实施中",
        "已结题",
        "未通过验收",
    ]
    got = {k: (r["count"], r["budget_fen"], r["released_fen"]) for k, r in rows.items()}
    assert got == {
        "planning": (1, 100 * WAN, 0),
        "running": (2, 250 * WAN, 60 * WAN),  # p2 and p3, not p7 (2023)
        "completed": (1, 30 * WAN, 30 * WAN),
        "failed": (3, 110 * WAN, 20 * WAN),  # p5, p6, p9, not p8 (2025)
    }
    assert [r["released_pct"] for r in result["rows"]] == [0.0, 24.0, 100.0, 18.2]
    total = result["total"]
    assert (total["count"], total["budget_fen"], total["released_fen"]) == (
        7,
        490 * WAN,
        110 * WAN,
    )
    assert total["released_pct"] == 22.4
    # An open range counts every project.
    assert delivery.projects_by_stage()["total"]["count"] == 9
    assert delivery.projects_by_stage(date(2023, 1, 1), date(2023, 12, 31))["total"][
        "budget_fen"
    ] == (70 * WAN)


def test_an_empty_range_has_every_stage_at_zero(projects, db):
    result = delivery.projects_by_stage(date(2020, 1, 1), date(2020, 12, 31))
    assert [r["count"] for r in result["rows"]] == [0, 0, 0, 0]
    assert result["total"]["released_pct"] is None


def test_milestones_on_time_late_and_overdue(projects, db):
    p2, p3, p5 = projects["p2"], projects["p3"], projects["p5"]
    # First submitted on the due date, returned, resubmitted the next day: on time.
    _milestone(db, p2, 1, "2024-03-10", MA,
               [_at("2024-03-10", 20), _at("2024-03-11")],
               submitted_at=_at("2024-03-11"), accepted_at=_at("2024-03-12"),
               times_returned=1)  # fmt: skip
    # First submitted the day after the due date: late.
    _milestone(db, p2, 2, "2024-04-10", MA, [_at("2024-04-11", 9)],
               submitted_at=_at("2024-04-11", 9),
               accepted_at=_at("2024-04-15"))  # fmt: skip
    # No deliverable rows kept: the submission time decides (on time).
    _milestone(db, p5, 1, "2024-05-10", MA, submitted_at=_at("2024-05-09"),
               accepted_at=_at("2024-05-20"))  # fmt: skip
    # Accepted in 2023, late: outside the range.
    _milestone(db, projects["p7"], 1, "2023-12-01", MA, [_at("2023-12-05")],
               submitted_at=_at("2023-12-05"),
               accepted_at=_at("2023-12-20"))  # fmt: skip
    # Overdue today (2024-07-01): running, not accepted, due before today.
    _milestone(db, p2, 3, "2024-06-01", MP)
    _milestone(db, p3, 1, "2024-06-30", MS, [_at("2024-06-29")],
               submitted_at=_at("2024-06-29"))  # fmt: skip
    # Not overdue: due today, due tomorrow, accepted late, failed or planning.
    _milestone(db, p3, 2, "2024-07-01", MP)
    _milestone(db, p3, 3, "2024-07-02", MP)
    _milestone(db, p5, 2, "2024-05-30", MR, times_returned=1)
    _milestone(db, projects["p1"], 1, "2024-03-01", MP)
    db.session.commit()

    figures = delivery.milestone_timeliness(Y_START, Y_END, TODAY)
    assert figures == {"accepted": 3, "on_time": 2, "late": 1, "on_time_pct": 66.7,
                       "overdue": 2}  # fmt: skip
    assert delivery.milestone_timeliness(today=TODAY)["late"] == 2
    assert delivery.overdue_milestones(date(2024, 7, 2)) == 3
    assert delivery.overdue_milestones(date(2024, 5, 1)) == 0


def test_acceptance_outcomes_by_kind_and_conclusion(projects, db):
    mid, fin = AcceptanceKind.MIDTERM, AcceptanceKind.FINAL
    plan = [
        ("p2", mid, "2024-04-01", AcceptanceConclusion.PASSED),
        ("p3", mid, "2024-05-01", AcceptanceConclusion.RECTIFY),
        ("p4", mid, "2024-04-02", AcceptanceConclusion.PASSED),
        ("p4", fin, "2024-06-01", AcceptanceConclusion.PASSED),
        ("p5", fin, "2024-06-02", AcceptanceConclusion.FAILED),
        ("p6", fin, "2024-12-31", AcceptanceConclusion.FAILED),
        ("p3", fin, "2024-12-01", None),  # scheduled, no conclusion yet
        ("p7", mid, "2023-12-31", AcceptanceConclusion.FAILED),  # outside
    ]
    for key, kind, day, conclusion in plan:
        db.session.add(
            Acceptance(project_id=projects[key].id, kind=kind, conclusion=conclusion,
                       scheduled_on=date.fromisoformat(day))
        )  # fmt: skip
    db.session.commit()
    result = delivery.acceptance_outcomes(Y_START, Y_END)
    cells = ("passed", "rectify", "failed", "pending", "total")
    rows = {r["key"]: tuple(r[c] for c in cells) for r in result["rows"]}
    assert rows == {"midterm": (2, 1, 0, 0, 3), "final": (1, 0, 2, 1, 4)}
    assert [r["label"] for r in result["rows"]] == ["中期检查", "结题验收"]
    assert tuple(result["total"][c] for c in cells) == (3, 1, 2, 1, 7)
    assert delivery.acceptance_outcomes()["total"]["failed"] == 3


def test_exemptions_applied_granted_and_refused(projects, db):
    plan = [
        ("p5", ExemptionStatus.GRANTED, _at("2024-06-05")),
        ("p6", ExemptionStatus.REFUSED, _at("2024-12-31", 23)),
        ("p9", ExemptionStatus.APPLIED, _at("2024-08-10")),
        ("p8", ExemptionStatus.GRANTED, _at("2025-01-02")),  # outside
    ]
    for key, status, moment in plan:
        db.session.add(
            Exemption(project_id=projects[key].id, status=status, created_at=moment,
                      diligence_account="项目组按计划开展了全部试验，勤勉尽责。")
        )  # fmt: skip
    db.session.commit()
    assert delivery.exemption_counts(Y_START, Y_END) == {
        "applied": 3,
        "granted": 1,
        "refused": 1,
        "pending": 1,
        "granted_pct": 50.0,
    }
    assert delivery.exemption_counts()["granted"] == 2
    nothing = delivery.exemption_counts(date(2020, 1, 1), date(2020, 1, 2))
    assert nothing == dict.fromkeys(("applied", "granted", "refused", "pending"), 0) | {
        "granted_pct": None
    }


def _experts(factory, db, names):
    # The factory ends the test's transaction: make every user before any change.
    users = [factory.user(factory.org(kind=OrgKind.UNIVERSITY)) for _ in names]
    profiles = []
    for name, user in zip(names, users, strict=True):
        db.session.merge(user).name = name
        profiles.append(
            ExpertProfile(user_id=user.id, org_id=user.org_id, title="教授")
        )
    db.session.add_all(profiles)
    db.session.flush()
    return profiles


def _panel(db, project, purpose, status, created, members):
    panel = ReviewPanel(
        purpose=purpose,
        challenge_id=project.challenge_id,
        status=status,
        created_at=created,
    )
    for expert, submitted in members:
        panel.members.append(
            PanelMember(
                expert_id=expert.id,
                submitted_at=_at("2024-12-31") if submitted else None,
            )
        )
    db.session.add(panel)


def test_panel_workload_per_expert(projects, factory, db):
    e1, e2, e3, e4, e5 = _experts(
        factory, db, ["专家A", "专家B", "专家C", "专家D", "专家E"]
    )
    e4.active = False
    done, scoring = PanelStatus.COMPLETED, PanelStatus.SCORING
    p2, p3 = projects["p2"], projects["p3"]
    _panel(db, p2, PanelPurpose.PROPOSALS, done, _at("2024-02-10"),
           [(e1, True), (e2, True), (e3, True)])  # fmt: skip
    _panel(db, p2, PanelPurpose.MIDTERM, done, _at("2024-03-30"),
           [(e1, True), (e2, True), (e4, True)])  # fmt: skip
    _panel(db, p3, PanelPurpose.FINAL, scoring, _at("2024-11-25"),
           [(e1, True), (e2, False), (e3, False)])  # fmt: skip
    # Formed in 2023 and still scoring: its awaited submissions count today.
    _panel(db, p3, PanelPurpose.EXEMPTION, scoring, _at("2023-12-15"),
           [(e1, False), (e3, False)])  # fmt: skip
    # Completed in 2023: outside the range, nothing awaited.
    _panel(db, p2, PanelPurpose.MIDTERM, done, _at("2023-06-01"), [(e5, True)])
    db.session.commit()

    rows = delivery.panel_workload(Y_START, Y_END)
    got = [(r["label"], r["panels"], r["completed"], r["pending"]) for r in rows]
    assert got == [
        ("专家A", 3, 2, 1),
        ("专家B", 3, 2, 1),
        ("专家C", 2, 1, 2),
        ("专家D", 1, 1, 0),
    ]
    assert [r["active"] for r in rows] == [True, True, True, False]
    assert rows[0]["title"] == "教授"
    everything = {r["label"]: r["panels"] for r in delivery.panel_workload()}
    assert everything == {"专家A": 4, "专家B": 3, "专家C": 3, "专家D": 1, "专家E": 1}


def _record(org, kind, decided, until=None, **kw):
    return IntegrityRecord(
        org_id=org.id if org else None,
        misconduct_type=kind,
        facts="经调查核实。",
        decided_on=date.fromisoformat(decided),
        restricted_until=date.fromisoformat(until) if until else None,
        source_document="驻科诚信〔2024〕1号",
        **kw,
    )


def test_integrity_records_by_type_and_in_force_today(factory, db):
    org = factory.org(kind=OrgKind.AGENCY)
    person = factory.user(factory.org(kind=OrgKind.UNIVERSITY))
    db.session.add_all(
        [
            _record(org, "fabrication", "2024-03-01", "2025-03-01"),  # in force
            _record(org, "fabrication", "2024-02-01", "2024-06-30"),  # expired
            _record(
                org,
                "plagiarism",
                "2024-05-01",
                "2026-05-01",
                revoked_at=_at("2024-06-01"),
            ),
            _record(org, "misuse_of_funds", "2023-06-01", "2025-06-01"),
            _record(None, "other", "2024-04-01", user_id=person.id),  # no period
            _record(org, "false_application", "2024-07-01", "2024-07-01"),
            _record(org, "breach_of_contract", "2024-08-01", "2025-08-01"),
        ]
    )
    db.session.commit()
    result = delivery.integrity_summary(Y_START, Y_END, TODAY)
    got = [(r["label"], r["count"], r["in_force"]) for r in result["rows"]]
    assert got == [
        ("数据造假", 2, 1),
        ("抄袭剽窃", 1, 0),
        ("虚假申报", 1, 1),  # the one-day restriction runs today
        ("违规使用经费", 0, 1),  # decided in 2023, still in force
        ("严重违约", 1, 0),  # decided after today: not yet in force
        ("其他失信行为", 1, 0),
    ]
    assert (result["total"]["count"], result["total"]["in_force"]) == (6, 3)
    later = delivery.integrity_summary(Y_START, Y_END, date(2025, 7, 1))
    assert later["total"]["in_force"] == 1  # only the 2024-08 one still runs
    assert delivery.integrity_summary(today=TODAY)["total"]["count"] == 7


@pytest.fixture
def figures(projects, factory, db):
    """Some of everything, for the page and the exports."""
    (expert,) = _experts(factory, db, ["专家甲"])
    _panel(db, projects["p2"], PanelPurpose.PROPOSALS, PanelStatus.COMPLETED,
           _at("2024-02-10"), [(expert, True)])  # fmt: skip
    db.session.add(_record(projects["p2"].owner_org, "fabrication", "2024-03-01"))
    db.session.commit()


def _charts(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="stats-data">(.*?)</script>', html, re.S
    )
    return json.loads(found.group(1))


def test_dashboard_shows_the_delivery_figures(figures, bureau_client):
    response = bureau_client.get("/stats/", query_string=RANGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="delivery-released">110.00 万元' in html
    assert "经费 490.00 万元，拨付 22.4%" in html
    assert 'id="table-delivery_workload"' in html and "专家甲" in html
    assert "数据造假" in html
    money = _charts(html)["delivery_money"]
    assert money["labels"] == ["计划制定中", "实施中", "已结题", "未通过验收"]
    assert money["amount"] == [100 * WAN, 250 * WAN, 30 * WAN, 110 * WAN]
    assert money["tech"] == [0, 60 * WAN, 30 * WAN, 20 * WAN]
    assert "<script>" not in html


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_delivery_tables_export_exactly(figures, bureau_client):
    rows = _csv(
        bureau_client.get("/stats/export/delivery_stages.csv", query_string=RANGE)
    )
    # No database key column: the stage's name comes first.
    assert rows[0][:4] == ["阶段", "项目数", "项目经费（万元）", "已拨付（万元）"]
    assert rows[2][:4] == ["实施中", "2", "250.00", "60.00"]
    assert rows[-1][:5] == ["合计", "7", "490.00", "110.00", "22.4"]
    assert sum(Decimal(r[2]) for r in rows[1:-1]) == Decimal(rows[-1][2])
    workload = _csv(
        bureau_client.get("/stats/export/delivery_workload.csv", query_string=RANGE)
    )
    assert workload[1][0] == "专家甲" and workload[1][3:] == ["1", "1", "0"]
    for name in exports.DELIVERY_TABLES:
        response = bureau_client.get(f"/stats/export/{name}.xlsx", query_string=RANGE)
        assert response.status_code == 200, name


@pytest.mark.parametrize("who", ["enterprise_client", "university_client", "client"])
def test_only_the_bureau_sees_delivery_figures(figures, who, request):
    web = request.getfixturevalue(who)
    response = web.get("/stats/export/delivery_stages.csv", query_string=RANGE)
    assert response.status_code == (302 if who == "client" else 403)
    assert "490.00" not in response.get_data(as_text=True)
