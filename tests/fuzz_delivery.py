"""Fuzz specs for the delivery pages: experts, integrity, panels and projects.

tests/test_fuzz_forms.py adds them to its SPECS with `delivery_specs(S)`; it
passes its spec builder in, so this module never imports it back. Each setup
receives that module's World and builds fresh rows directly with the models.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from marketplace import audit
from marketplace.clock import utcnow
from marketplace.extensions import db
from marketplace.models import (
    Acceptance,
    AcceptanceKind,
    ChallengeStatus,
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
    PanelScore,
    PanelStatus,
    Project,
    ProjectStatus,
    Proposal,
    ProposalKind,
    ProposalStatus,
    ReviewPanel,
)
from marketplace.projects import agreement
from tests.dates import iso, today
from tests.factories import (
    awarded_challenge,
    contract_between,
    project_for,
)

_serial = itertools.count(70_000)
World = Any  # tests.test_fuzz_forms.World, not imported to avoid a cycle


def _pick(*options: str) -> str:
    """One of the valid choices, in turn, so every branch gets its examples."""
    return options[next(_serial) % len(options)]


def _cycling(**choices: tuple) -> Any:
    """A spec's valid values whose choice fields take each option in turn."""

    def valid(w: World, ctx: dict) -> dict:
        return {k: v if isinstance(v, str) else v() if callable(v) else _pick(*v)
                for k, v in choices.items()}

    return valid


# --- experts ----------------------------------------------------------------------


def _new_expert(w: World, active: bool = True) -> tuple[int, Any]:
    """A member of a new university with an expert profile: (expert id, user)."""
    user = w.factory.user(w.factory.org(OrgKind.UNIVERSITY))

    def add() -> int:
        expert = ExpertProfile(
            user_id=user.id, org_id=user.org_id, title="研究员",
            field_codes=["environment"], specialities="废水处理、生物膜工艺",
            active=active, retired_at=None if active else utcnow(),
        )  # fmt: skip
        db.session.add(expert)
        db.session.flush()
        return expert.id

    return w.run(add), user


def _pool(w: World) -> list[dict]:
    """Three experts free of conflicts with the world's organisations, made once."""
    pool = w.__dict__.setdefault("expert_pool", [])
    while len(pool) < 3:
        expert_id, user = _new_expert(w)
        pool.append({"id": expert_id, "user": user, "client": None})
    return pool


def _seat_client(w: World, seat: dict):
    if seat["client"] is None:
        seat["client"] = w.login(seat["user"])
    return seat["client"]


def _expert(w: World, active: bool = True) -> dict:
    return {"expert": _new_expert(w, active)[0]}


def _expert_setup(w: World) -> dict:
    n = next(_serial)
    return {"n": n, "c": w.challenge(), "uni": w.org("uni").credit_code}


def expert_new_form(w: World, ctx: dict) -> dict:
    return {
        "email": f"ex{ctx['n']}@example.cn", "name": "李专家",
        "affiliation": ctx["uni"], "password": "Expert2026x", "title": "教授",
        "fields": ["environment", "new_materials"], "specialities": "污水生物处理",
        "contact_phone": "0396-1234567", "contact_email": "",
    }  # fmt: skip


def _existing_user(w: World) -> dict:
    user = w.factory.user(w.factory.org(OrgKind.UNIVERSITY))
    return {"email": user.email, "c": w.challenge()}


PROFILE = {
    "title": "高级工程师", "fields": ["environment"],
    "specialities": "厌氧消化\n膜分离", "contact_phone": "0396-7654321",
    "contact_email": "exp@example.cn",
}  # fmt: skip
EXPERTS = [
    "bureau:/experts/", "bureau:/experts/?q=专家", "bureau:/experts/?field=environment",
    "bureau:/experts/?state=retired", "bureau:/stats/",
    "bureau:/stats/export/delivery_workload.csv", "firm:/panels/new?challenge={c}",
]  # fmt: skip


# --- integrity records ------------------------------------------------------------


def record_form(w: World, ctx: dict) -> dict:
    w.org("uni")
    return {
        "subject": _pick("org", "person"), "org_text": w.org("uni").credit_code,
        "email": w.users["uni"].email, "misconduct_type": "fabrication",
        "facts": "伪造实验数据\n见调查报告。",
        "decided_on": iso(-10),
        "restricted_until": iso(365),
        "source_document": "驻科〔2026〕12 号",
    }  # fmt: skip


def _record(w: World) -> dict:
    org_id = w.org("uni").id

    def add() -> int:
        record = IntegrityRecord(
            org_id=org_id, misconduct_type="plagiarism", facts="抄袭他人成果",
            decided_on=today(-5), source_document="科信发〔2026〕3号",
            restricted_until=today(200),
        )  # fmt: skip
        db.session.add(record)
        db.session.flush()
        return record.id

    return {"record": w.run(add), "c": w.challenge()}


INTEGRITY = [
    "bureau:/integrity/", "bureau:/integrity/?state=in_force",
    "bureau:/integrity/?state=revoked", "uni:/integrity/mine", "uni:/",
    "uni:/proposals/challenge/{c}/new", "bureau:/stats/",
    "bureau:/stats/export/delivery_integrity.xlsx",
]  # fmt: skip


# --- panels -----------------------------------------------------------------------


def _add_bid(challenge_id: int, org_id: int, status=ProposalStatus.SUBMITTED) -> int:
    proposal = Proposal(
        kind=ProposalKind.BID, challenge_id=challenge_id, org_id=org_id,
        status=status, solution="厌氧-好氧组合生物膜工艺", technical_route="小试、中试",
        team="八人团队", price_fen=45_000_000, duration_months=12,
    )  # fmt: skip
    db.session.add(proposal)
    db.session.flush()
    return proposal.id


def _evaluating(w: World) -> dict:
    """A challenge in evaluation with two bids."""
    yesterday = today(-1)
    cid = w.challenge(status=ChallengeStatus.EVALUATING, deadline=yesterday)
    orgs = [w.org("institute").id, w.org("agency").id]
    bids = w.run(lambda: [_add_bid(cid, org_id) for org_id in orgs])
    return {"c": cid, "bids": bids}


def _panel(w: World, challenge_id: int, purpose: PanelPurpose, **kw) -> int:
    """A panel of the pool; the last `submitted` members have submitted already."""
    pool, bids, submitted = _pool(w), kw.pop("bids", ()), kw.pop("submitted", 2)
    done = submitted == len(pool)
    verdict = {PanelPurpose.PROPOSALS: "", PanelPurpose.EXEMPTION: "grant"}
    firm = w.org("firm")

    def add() -> int:
        panel = ReviewPanel(
            purpose=purpose, challenge_id=challenge_id,
            status=PanelStatus.COMPLETED if done else PanelStatus.SCORING,
            completed_at=utcnow() if done else None,
            formed_by_org_id=firm.id if purpose == PanelPurpose.PROPOSALS else None,
            **kw,
        )  # fmt: skip
        for n, seat in enumerate(pool):
            member = PanelMember(expert_id=seat["id"])
            if n >= len(pool) - submitted:
                member.submitted_at, member.comment = utcnow(), "总体可行。"
                member.verdict = verdict.get(purpose, "passed")
                member.scores = [
                    PanelScore(proposal_id=b, merit=80 - n, feasibility=70 + n,
                               team=75, price=60, comment="报价合理")
                    for b in bids
                ]  # fmt: skip
            panel.members.append(member)
        db.session.add(panel)
        db.session.flush()
        return panel.id

    return w.run(add)


def _scoring(w: World) -> dict:
    ctx = _evaluating(w)
    panel = _panel(w, ctx["c"], PanelPurpose.PROPOSALS, bids=ctx["bids"])
    return {**ctx, "panel": panel, "client": _seat_client(w, _pool(w)[0])}


def score_form(w: World, ctx: dict) -> dict:
    data = {"overall": "两份方案均可行，甲方案更优。"}
    for n, bid in enumerate(ctx["bids"]):
        data.update({f"s{bid}_{key}": str(90 - 10 * n) for key in CRITERIA})
        data[f"c{bid}"] = "技术路线清晰"
    return data


CRITERIA = ("merit", "feasibility", "team", "price")


def _opinion(w: World) -> dict:
    ctx = _project(w, acceptance=AcceptanceKind.MIDTERM)
    panel = _panel(w, ctx["c"], PanelPurpose.MIDTERM, acceptance_id=ctx["acceptance"])
    return {**ctx, "panel": panel, "client": _seat_client(w, _pool(w)[0])}


def _replacing(w: World) -> dict:
    """A scoring bid panel whose first seat is pending, and an expert to take it."""
    ctx = _evaluating(w)
    panel = _panel(w, ctx["c"], PanelPurpose.PROPOSALS, bids=ctx["bids"])
    seat = w.run(
        lambda: db.session.scalar(
            select(PanelMember.id).where(
                PanelMember.panel_id == panel,
                PanelMember.expert_id == _pool(w)[0]["id"],
            )
        )
    )
    client = _seat_client(w, _pool(w)[1])
    return {**ctx, "panel": panel, "seat": seat, "client": client,
            "expert": _new_expert(w)[0]}  # fmt: skip


def _proposal_panel_setup(w: World) -> dict:
    return {**_evaluating(w), "ids": [seat["id"] for seat in _pool(w)]}


def _midterm_panel_setup(w: World) -> dict:
    ctx = _project(w, acceptance=AcceptanceKind.MIDTERM)
    return {**ctx, "ids": [seat["id"] for seat in _pool(w)]}


def _exemption_panel_setup(w: World) -> dict:
    ctx = _project(w, ProjectStatus.FAILED, exemption=ExemptionStatus.APPLIED)
    return {**ctx, "ids": [seat["id"] for seat in _pool(w)]}


def panel_form(w: World, ctx: dict) -> dict:
    return {
        "expert_ids": [str(i) for i in ctx["ids"]], "weight_merit": "40",
        "weight_feasibility": "30", "weight_team": "20", "weight_price": "10",
    }  # fmt: skip


PANEL = [
    "bureau:/panels/{panel}", "firm:/panels/{panel}", "self:/panels/{panel}",
    "self:/panels/mine", "bureau:/stats/", "bureau:/stats/export/delivery_workload.csv",
]  # fmt: skip
PANEL_NEW = [
    "firm:/challenges/{c}", "bureau:/challenges/{c}", "firm:/proposals/challenge/{c}",
    "bureau:/stats/", "bureau:/stats/export/delivery_workload.xlsx",
]  # fmt: skip


# --- projects ---------------------------------------------------------------------


def _awarded(w: World) -> dict:
    """An awarded challenge, its selected bid and a contract between the two."""
    firm, inst = w.org("firm"), w.org("institute")

    def add() -> dict:
        challenge_id, bid = awarded_challenge(firm.id, inst.id)
        contract = contract_between(firm.id, inst.id, challenge_id=challenge_id)
        return {"c": challenge_id, "bid": bid, "contract": contract}

    return w.run(add)


def _project(w: World, status=ProjectStatus.RUNNING, **kw) -> dict:
    """A project; kw may ask for a milestone, an acceptance and an exemption."""
    ctx = _awarded(w)
    winner = w.org("institute").id

    def add() -> dict:
        project_id = project_for(
            ctx["c"], ctx["contract"], ctx["bid"], status=status,
            started_at=None if status == ProjectStatus.PLANNING else utcnow(),
            closed_at=utcnow() if status == ProjectStatus.FAILED else None,
        )  # fmt: skip
        out = {**ctx, "project": project_id, "winner": winner}
        if "milestone" in kw:
            out["milestone"] = _milestone(project_id, kw["milestone"])
        if "acceptance" in kw:
            item = Acceptance(
                project_id=project_id, kind=kw["acceptance"], scheduled_on=today()
            )
            db.session.add(item)
            db.session.flush()
            out["acceptance"] = item.id
        if "exemption" in kw:
            item = Exemption(
                project_id=project_id, status=kw["exemption"],
                diligence_account="按约定投入人员与经费，及时报告风险。" * 4,
            )  # fmt: skip
            db.session.add(item)
            db.session.flush()
            out["exemption"] = item.id
        return out

    return w.run(add)


def _milestone(project_id: int, status: MilestoneStatus) -> int:
    milestone = Milestone(
        project_id=project_id, seq=1, deliverable="中试装置及运行报告",
        description="连续运行 30 天", due_on=today(60),
        amount_fen=20_000_000, status=status,
        submitted_at=None if status == MilestoneStatus.PENDING else utcnow(),
    )  # fmt: skip
    if status != MilestoneStatus.PENDING:
        milestone.submissions = [Deliverable(note="运行报告见附件")]
    db.session.add(milestone)
    db.session.flush()
    return milestone.id


def _planning(w: World) -> dict:
    return _project(w, ProjectStatus.PLANNING, milestone=MilestoneStatus.PENDING)


def _agreed(w: World) -> dict:
    """A planned project whose winner agreed to the plan: ready to begin."""
    ctx = _planning(w)

    def add() -> None:
        project = db.session.get(Project, ctx["project"])
        audit.record(
            agreement.ACTION,
            obj=project,
            note=agreement.agreement_note(project),
        )

    w.run(add)
    return ctx


def _concluding(w: World) -> dict:
    ctx = _project(w, acceptance=AcceptanceKind.FINAL)
    _panel(w, ctx["c"], PanelPurpose.FINAL, acceptance_id=ctx["acceptance"],
           submitted=3)  # fmt: skip
    return ctx


def _deciding(w: World) -> dict:
    ctx = _project(w, ProjectStatus.FAILED, exemption=ExemptionStatus.APPLIED)
    _panel(w, ctx["c"], PanelPurpose.EXEMPTION, exemption_id=ctx["exemption"],
           submitted=3)  # fmt: skip
    return ctx


def milestone_form(w: World, ctx: dict) -> dict:
    return {
        "deliverable": "中试装置及运行报告", "description": "连续运行 30 天\n出水达标",
        "due_on": iso(30), "amount": "10",
    }  # fmt: skip
PROJECT = [
    "firm:/projects/{project}", "institute:/projects/{project}",
    "bureau:/projects/{project}", "firm:/projects/",
    "institute:/projects/?status=running", "bureau:/projects/",
    "firm:/challenges/{c}", "bureau:/stats/",
    "bureau:/stats/export/delivery_stages.csv",
    "bureau:/stats/export/delivery_milestones.xlsx",
]  # fmt: skip
CHECKS = [
    *PROJECT, "bureau:/stats/export/delivery_acceptances.csv",
    "bureau:/stats/export/delivery_exemptions.csv", "institute:/orgs/{winner}",
]  # fmt: skip


def delivery_specs(S) -> list:
    """The specs, built with test_fuzz_forms.S."""
    PM = "/projects/<int:project_id>/milestones/<int:milestone_id>"
    pm = "/projects/{project}/milestones/{milestone}"
    running = lambda status: lambda w: _project(w, milestone=status)  # noqa: E731
    # fmt: off
    return [
        # the expert pool
        S("/experts/new", "bureau", "/experts/new", expert_new_form, _expert_setup,
          EXPERTS, examples=10),
        S("/experts/new", "bureau", "/experts/new",
          lambda w, c: {**PROFILE, "email": c["email"]}, _existing_user, EXPERTS,
          examples=5),
        S("/experts/<int:expert_id>/edit", "bureau", "/experts/{expert}/edit",
          PROFILE, lambda w: {**_expert(w), "c": w.challenge()},
          ["bureau:/experts/{expert}/edit", *EXPERTS], examples=8),
        S("/experts/<int:expert_id>/retire", "bureau", "/experts/{expert}/retire",
          {}, lambda w: {**_expert(w), "c": w.challenge()}, EXPERTS, examples=4),
        S("/experts/<int:expert_id>/reinstate", "bureau",
          "/experts/{expert}/reinstate", {},
          lambda w: {**_expert(w, active=False), "c": w.challenge()}, EXPERTS,
          examples=4),
        # research-integrity records
        S("/integrity/new", "bureau", "/integrity/new", record_form,
          lambda w: {"c": w.challenge()}, INTEGRITY, examples=10),
        S("/integrity/<int:record_id>/revoke", "bureau",
          "/integrity/{record}/revoke", {"reason": "复核后撤销\n原决定已被撤回"},
          _record, ["bureau:/integrity/{record}", "uni:/integrity/{record}",
                    *INTEGRITY], examples=6),
        # review panels
        S("/panels/new", "firm", "/panels/new?challenge={c}", panel_form,
          _proposal_panel_setup, PANEL_NEW, examples=8),
        S("/panels/new", "bureau",
          "/panels/new?purpose=midterm&acceptance={acceptance}", panel_form,
          _midterm_panel_setup, [*PANEL_NEW, *PROJECT], examples=5),
        S("/panels/new", "bureau",
          "/panels/new?purpose=exemption&exemption={exemption}", panel_form,
          _exemption_panel_setup, [*PANEL_NEW, *PROJECT], examples=5),
        S("/panels/<int:panel_id>/score", "self", "/panels/{panel}/score", score_form,
          _scoring, [*PANEL, "firm:/challenges/{c}", "firm:/proposals/challenge/{c}"],
          examples=10),
        S("/panels/<int:panel_id>/members/<int:member_id>/replace", "firm",
          "/panels/{panel}/members/{seat}/replace",
          lambda w, c: {"expert_id": str(c["expert"]), "reason": "专家出差"},
          _replacing, PANEL, examples=8),
        S("/panels/<int:panel_id>/opinion", "self", "/panels/{panel}/opinion",
          _cycling(verdict=("passed", "rectify", "failed"),
                   comment="进度基本符合计划，需补充数据。"),
          _opinion, [*PANEL, *PROJECT], examples=8),
        # projects: start, plan, deliver, accept
        S("/projects/start/<int:challenge_id>", "firm", "/projects/start/{c}",
          lambda w, c: {"contract": str(c["contract"])}, _awarded,
          ["firm:/projects/", "institute:/projects/", "firm:/challenges/{c}",
           "bureau:/stats/"], examples=6),
        S("/projects/<int:project_id>/milestones/new", "firm",
          "/projects/{project}/milestones/new", milestone_form, _planning, PROJECT,
          examples=10),
        S(f"{PM}/edit", "firm", f"{pm}/edit", milestone_form, _planning,
          [f"firm:{pm}/edit", *PROJECT], examples=8),
        S(f"{PM}/delete", "firm", f"{pm}/delete", {}, _planning, PROJECT, examples=4),
        S("/projects/<int:project_id>/agree", "institute", "/projects/{project}/agree",
          {"confirm": "y"}, _planning, PROJECT, examples=4),
        S("/projects/<int:project_id>/begin", "firm", "/projects/{project}/begin",
          {"confirm": "y"}, _agreed, PROJECT, examples=4),
        S(f"{PM}/deliver", "institute", f"{pm}/deliver",
          {"note": "中试运行报告\n出水 COD 45mg/L"},
          running(MilestoneStatus.PENDING), PROJECT, files=True, examples=10),
        S(f"{PM}/accept", "firm", f"{pm}/accept", {"confirm": "y"},
          running(MilestoneStatus.SUBMITTED),
          [*PROJECT, "firm:/contracts/{contract}", "bureau:/contracts/"], examples=5),
        S(f"{PM}/return", "firm", f"{pm}/return",
          {"comment": "运行数据不完整，请补充。"}, running(MilestoneStatus.SUBMITTED),
          PROJECT, examples=6),
        # checks, acceptance, exemption, re-listing
        S("/projects/<int:project_id>/acceptances", "bureau",
          "/projects/{project}/acceptances",
          _cycling(kind=("midterm", "final"), scheduled_on=lambda: iso(30)), _project,
          PROJECT, examples=8),
        S("/projects/<int:project_id>/acceptances/<int:acceptance_id>/conclude",
          "bureau", "/projects/{project}/acceptances/{acceptance}/conclude",
          _cycling(conclusion=("failed", "passed", "rectify"),
                   report="关键指标未达到。\n详见验收报告。", confirm="y"),
          _concluding, CHECKS, examples=8),
        S("/projects/<int:project_id>/exemption", "institute",
          "/projects/{project}/exemption",
          {"account": "按约定投入人员与经费，执行技术路线，及时报告风险。" * 3},
          lambda w: _project(w, ProjectStatus.FAILED), CHECKS, examples=8),
        S("/projects/<int:project_id>/exemption/decide", "bureau",
          "/projects/{project}/exemption/decide",
          _cycling(decision=("granted", "refused"),
                   reason="承担单位勤勉尽责，失败源于技术路线风险。", confirm="y"),
          _deciding, CHECKS, examples=8),
        S("/projects/<int:project_id>/relist", "firm", "/projects/{project}/relist",
          {"confirm": "y"}, lambda w: _project(w, ProjectStatus.FAILED,
                                 exemption=ExemptionStatus.GRANTED),
          [*CHECKS, "firm:/challenges/mine"], examples=4),
    ]
    # fmt: on
