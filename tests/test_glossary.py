"""One glossary: labelled states and actions, and no raw value on any page."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import select

from marketplace import demo, glossary
from marketplace.models import (
    AcceptanceConclusion,
    AcceptanceKind,
    Challenge,
    ChallengeStatus,
    Contract,
    ContractStatus,
    Deal,
    DealStage,
    ExemptionStatus,
    MemberStatus,
    Milestone,
    MilestoneStatus,
    Organisation,
    OrgKind,
    PanelPurpose,
    PanelStatus,
    Payment,
    Project,
    ProjectStatus,
    Proposal,
    ProposalStatus,
    Result,
    ResultStatus,
    ReviewPanel,
    User,
)
from marketplace.models.base import Base, LabelledEnum
from marketplace.models.proposal import ProposalKind
from marketplace.models.reference import RegionKind

STATUS_ENUMS = (
    AcceptanceConclusion, AcceptanceKind, ChallengeStatus, ContractStatus,
    DealStage, ExemptionStatus, MemberStatus, MilestoneStatus, OrgKind,
    PanelPurpose, PanelStatus, ProjectStatus, ProposalStatus, ResultStatus,
)  # fmt: skip
# Values that are also ordinary words a page may show in Latin script.
ALLOWED_WORDS = {"final", "open", "lead"}
ROOT = Path(__file__).resolve().parent.parent / "marketplace"


def test_every_status_has_one_label():
    for enum in STATUS_ENUMS:
        for member in enum:
            assert member.label and not member.label.isascii(), member


def test_every_stored_enum_carries_its_labels():
    """An enum a column stores is a LabelledEnum: its class holds every word."""
    stored = {
        column.type.enum_class
        for table in Base.metadata.tables.values()
        for column in table.columns
        if getattr(column.type, "enum_class", None) is not None
    }
    # Kept apart from the words: a region's kind and a proposal's kind are never
    # shown as such (pages name the region, and say 揭榜申报 or 转化申请 by context).
    unlabelled = {e.__name__ for e in stored if not issubclass(e, LabelledEnum)}
    assert unlabelled == {"RegionKind", "ProposalKind"}
    for enum in stored - {RegionKind, ProposalKind}:
        labels = enum.labels()
        assert list(labels) == list(enum), enum
        assert all(re.search(r"[\u4e00-\u9fff]", word) for word in labels.values())
    assert ContractStatus("registered").label == "已登记"


def test_a_selected_bid_has_one_word_everywhere():
    from marketplace.challenges.queries import PROPOSAL_STATE_LABELS
    from marketplace.results.routes import PROPOSAL_LABELS

    assert PROPOSAL_STATE_LABELS["selected"] == PROPOSAL_LABELS["selected"] == "中选"
    assert ProjectStatus.FAILED.label == "未通过验收"
    assert ExemptionStatus.APPLIED.label == "待认定"


def test_member_states_of_a_proposal_event_read_as_member_words():
    label = glossary.state_label("invited", "proposals", "consortium_confirmed")
    assert label == "待确认"
    assert glossary.state_label("confirmed", "proposals", "consortium_confirmed") == (
        "已确认"
    )
    assert glossary.state_label("selected", "proposals") == "中选"
    assert glossary.state_label("submitted", "contracts") == "待登记"


RECORDERS = ("record", "record_alone")


def _recorded_actions() -> set[str]:
    """Every literal action passed to audit.record anywhere in marketplace/."""
    found = set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            if not isinstance(func, ast.Attribute) or func.attr not in RECORDERS:
                continue
            first = node.args[0]
            if isinstance(first, ast.JoinedStr):
                # f"{kind}_revised": the listing verbs, for either kind.
                tail = "".join(
                    v.value for v in first.values if isinstance(v, ast.Constant)
                )
                found |= {kind + tail for kind in ("challenge", "result")}
                continue
            for arg in ast.walk(first):
                value = arg.value if isinstance(arg, ast.Constant) else None
                if isinstance(value, str) and re.fullmatch(r"[a-z_.]+", value):
                    found.add(value)
    return found


def _passed_actions() -> set[str]:
    """Every literal given as `action` to a function of marketplace/ taking one."""
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in ROOT.rglob("*.py")]
    position: dict[str, int] = {}
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.FunctionDef):
            names = [a.arg for a in node.args.args]
            if "action" in names:
                position[node.name] = names.index("action")
    found = set()
    for node in (n for tree in trees for n in ast.walk(tree)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
        if name not in position:
            continue
        given = [k.value for k in node.keywords if k.arg == "action"]
        if len(node.args) > position[name]:
            given.append(node.args[position[name]])
        for value in (v for expr in given for v in _literals(expr)):
            if re.fullmatch(r"[a-z_.]+", value):
                found.add(value)
    return found


def _literals(expr: ast.AST):
    """The whole string constants of an expression (an f-string's parts are not)."""
    if isinstance(expr, ast.JoinedStr):
        return
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        yield expr.value
    for child in ast.iter_child_nodes(expr):
        yield from _literals(child)


def test_every_recorded_action_has_a_label(app):
    actions = _recorded_actions()
    assert len(actions) > 40  # the scan sees the features' verbs
    missing = sorted(a for a in actions if a not in glossary.action_labels())
    assert missing == []


def test_every_recorded_action_is_defined_by_a_registered_enum(app):
    actions = _recorded_actions() | _passed_actions()
    assert len(actions) > 100
    undefined = sorted(a for a in actions if not glossary.is_action(a))
    assert undefined == []
    for enum in glossary._ACTIONS:
        for member in enum:
            assert re.search(r"[\u4e00-\u9fff]", member.label), member
            assert glossary.action_label(member.value) == member.label
    # A value is defined once, so its label is the same on every page.
    values = [m.value for enum in glossary._ACTIONS for m in enum]
    assert len(values) == len(set(values)) == len(glossary.action_labels())


def test_an_undefined_action_is_refused(db):
    from marketplace import audit
    from marketplace.projects.services import ProjectAction

    with pytest.raises(ValueError, match="not_an_action"):
        audit.record("not_an_action", object_type="projects", object_id=1)
    with pytest.raises(ValueError):
        audit.record_alone("project_startd", object_type="projects", object_id=1)
    event = audit.record(ProjectAction.PROJECT_STARTED, object_type="projects")
    assert event.action == "project_started" and type(event.action) is str


def test_registering_an_action_twice_is_refused():
    class Twice(glossary.Action):
        LOGIN = "login", "又一个登录"

    with pytest.raises(ValueError, match="login"):
        glossary.register_actions(Twice)


# --- the sweep -----------------------------------------------------------------

ARG_MODELS = {
    "challenge_id": Challenge,
    "result_id": Result,
    "proposal_id": Proposal,
    "project_id": Project,
    "deal_id": Deal,
    "contract_id": Contract,
    "panel_id": ReviewPanel,
    "org_id": Organisation,
}


def _visible(page: str) -> str:
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _ids(session, model) -> list[int]:
    """One object of each state the model has (all of them if stateless)."""
    rows = session.scalars(select(model).order_by(model.id)).all()
    state = next((a for a in ("status", "stage") if hasattr(model, a)), None)
    if state is None:
        return [r.id for r in rows[:3]]
    seen: dict[str, int] = {}
    for row in rows:
        seen.setdefault(str(getattr(row, state)), row.id)
    return list(seen.values())


def _urls(app, session) -> list[str]:
    ids = {arg: _ids(session, model) for arg, model in ARG_MODELS.items()}
    urls = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        args = set(rule.arguments) - {"ext"}
        if not args <= set(ids) or len(args) > 1:
            continue
        with app.test_request_context():
            extra = {"ext": "csv"} if "ext" in rule.arguments else {}
            if not args:
                urls.add(url_for(rule.endpoint, **extra))
            for arg in args:
                for value in ids[arg]:
                    urls.add(url_for(rule.endpoint, **{arg: value}, **extra))
    return sorted(u for u in urls if not u.endswith((".csv", ".xlsx")))


@pytest.fixture
def seeded(app, runner, db):
    result = runner.invoke(args=["seed-demo", "--limit", "20"])
    assert result.exit_code == 0, result.output


def test_no_page_shows_a_raw_state_or_an_amount_in_fen(app, db, seeded):
    raw = {m.value for e in STATUS_ENUMS for m in e} - ALLOWED_WORDS
    raw_re = re.compile(r"(?<![\w/.@-])(" + "|".join(sorted(raw)) + r")(?![\w/.@-])")
    fens = {c.amount_fen for c in db.session.scalars(select(Contract))}
    fens |= {p.amount_fen for p in db.session.scalars(select(Payment))}
    fens |= {m.amount_fen for m in db.session.scalars(select(Milestone))}
    fens = {str(f) for f in fens if f and f >= 1_000_000}
    fen_re = re.compile(r"(?<![\d.,])(" + "|".join(sorted(fens)) + r")(?![\d.,])")
    users = {}
    for user in db.session.scalars(select(User).order_by(User.id)):
        users.setdefault((user.role, user.org.kind if user.org else None), user)
    urls = _urls(app, db.session)
    problems = []
    checked = 0
    for user in users.values():
        client = app.test_client()
        response = client.post(
            "/auth/login", data={"email": user.email, "password": demo.DEMO_PASSWORD}
        )
        assert response.status_code == 302, user.email
        for url in urls:
            response = client.get(url)
            if response.status_code != 200 or "html" not in response.content_type:
                continue
            checked += 1
            text = _visible(response.get_data(as_text=True))
            for match in raw_re.finditer(text):
                problems.append((url, user.email, "state", match.group(0)))
            for match in fen_re.finditer(text) if fens else ():
                problems.append((url, user.email, "fen", match.group(0)))
    assert len(urls) > 30 and checked > 2 * len(urls), (len(urls), checked)
    assert sorted(set(problems)) == []


def test_a_consortium_answer_reads_in_words_on_the_timeline(db, bureau_client, factory):
    from marketplace import audit
    from tests.factories import make_challenge

    challenge = make_challenge(factory.org().id)
    audit.record(
        "consortium_confirmed",
        object_type="challenges",
        object_id=challenge.id,
        from_state=MemberStatus.INVITED,
        to_state=MemberStatus.CONFIRMED,
    )
    db.session.commit()
    page = _visible(bureau_client.get(f"/challenges/{challenge.id}").get_data(True))
    assert "联合体成员确认参加" in page
    assert "（待确认 → 已确认）" in re.sub(r"\s+", " ", page).replace("（ ", "（")
    assert "invited" not in page and "confirmed）" not in page


def test_audit_notes_name_roles_and_tallies_in_words(app, db, runner, factory):
    """The admin log reads 角色：机构管理员 and seed-demo's tally in Chinese."""
    from marketplace.auth.services import create_user
    from marketplace.models import AuditEvent

    org = db.session.get(Organisation, factory.org().id)
    create_user(org=org, email="x@example.cn", password="Passw0rd-x1", role="org_admin")
    db.session.commit()
    note = db.session.scalars(
        select(AuditEvent.note).where(AuditEvent.action == "user_created")
    ).one()
    assert note == "角色：机构管理员"
    assert runner.invoke(args=["seed-demo", "--limit", "5"]).exit_code == 0
    tally = db.session.scalars(
        select(AuditEvent.note).where(AuditEvent.action == "seed_demo")
    ).one()
    assert tally.startswith("新增机构 ") and "、成果 5、" in tally
    assert not re.search(r"[a-z]+\+\d", tally)
