"""Hypothesis drives every HTML form: never a 500, nothing stored breaks a page.

Each spec names a POST rule, who posts, a per-example setup (fresh objects, so a
state change in one example does not starve the next) and the pages that show
the object. Every example keeps some fields valid and replaces the others with
hostile values; after any answer below 400 those pages must still answer < 500.
"""

from __future__ import annotations

import io
import itertools
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from marketplace.creditcode import make_credit_code
from marketplace.extensions import db
from marketplace.models import (
    ChallengeStatus,
    Contract,
    ContractStatus,
    Notification,
    OrgKind,
    Payment,
    Proposal,
    ResultStatus,
    TechField,
    User,
)
from tests.conftest import PASSWORD
from tests.dates import iso, today
from tests.factories import make_challenge, make_result
from tests.fuzz_delivery import delivery_specs
from tests.fuzz_demands import demand_specs
from tests.fuzz_files import file_specs
from tests.fuzz_mail import mail_specs
from tests.fuzz_messages import message_specs
from tests.fuzz_nda import nda_specs
from tests.fuzz_revisions import revision_specs
from tests.sample_files import PDF

_serial = itertools.count(9000)

# Hostile values: numbers, dates, control characters, lone surrogates, long text.
NASTY = [
    "", " ", "\x00", "a\x00b", "\x1b[31m红\x1b[0m", "\u202e反向文本", "\ud800",
    "x\udfffy", "\u2028", "\ufeff", "😀🚀", "<script>alert(1)</script>", "{{7*7}}",
    "' OR 1=1 --", "%s%n", "NaN", "nan", "Infinity", "-Infinity", "1E+400", "-0",
    "0.001", "0.0000001", str(10**30), "-" + str(10**30), "-1", "-12.5", "１２",
    "²", "٣", "0x1F", "1_000", "2026-02-30", "99999-01-01", "0001-01-01",
    "9999-12-31", "2026-13-01", "1970-01-01", "true", "null", "[]", "{}",
    "技术转移" * 2600, "a" * 10_001, "联系\n电话\r\n\t",
]  # fmt: skip
MIXED = st.text(
    st.sampled_from("技术转移撮合锂电池成果 abcXYZ019\n\t、，,;；.-_@<>&\"'")
)
SCALAR = st.one_of(
    st.sampled_from(NASTY), MIXED, st.text(st.characters(codec="utf-8"), max_size=30)
)
# A list repeats the key in the body; an empty list leaves the field out.
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=3))


def fuzz_settings(examples: int):
    """Deterministic settings for a test whose Flask app outlives its examples.

    FUZZ_SCALE=10 multiplies the examples for a longer bug hunt outside CI.
    """
    return settings(
        max_examples=examples * int(os.environ.get("FUZZ_SCALE", "1")),
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
        derandomize=True,
        database=None,
    )


@st.composite
def form_data(draw, valid: dict) -> dict:
    """The valid values with some fields replaced, plus maybe a stray key.

    Few replaced fields reach the service verbs; many exercise every validator.
    """
    data = dict(valid)
    names = sorted(valid)
    if names:
        broken = st.lists(st.sampled_from(names), max_size=len(names), unique=True)
        for name in draw(broken):
            data[name] = draw(VALUE)
    if draw(st.booleans()):
        data[draw(st.sampled_from(["x", "csrf_token", "action", "next"]))] = draw(VALUE)
    return data


def encode(data: dict) -> bytes:
    """A urlencoded body; lone surrogates go through as the bytes Python would use."""
    pairs = [
        (k, v) for k, vs in data.items() for v in (vs if isinstance(vs, list) else [vs])
    ]
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode()


def _clean(value: Any) -> Any:
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return (
        value.encode("utf-8", "replace").decode() if isinstance(value, str) else value
    )


FILE_NAMES = st.one_of(
    st.sampled_from(["方案.pdf", "../../etc/passwd.pdf", "a" * 300 + ".pdf", ".pdf"]),
    SCALAR.map(lambda s: _clean(s[:200]) + ".pdf"),
)
FILES = st.lists(
    st.tuples(st.sampled_from([PDF, b"", b"<html>x</html>", b"\x00" * 64]), FILE_NAMES),
    max_size=2,
)


class World:
    """Organisations and logged-in clients made on first use, one set per test."""

    KINDS: ClassVar[dict[str, OrgKind]] = {
        "firm": OrgKind.ENTERPRISE,
        "institute": OrgKind.INSTITUTE,
        "uni": OrgKind.UNIVERSITY,
        "agency": OrgKind.AGENCY,
        "bureau": OrgKind.BUREAU,
    }

    def __init__(self, app, factory, login):
        self.app, self.factory, self.login = app, factory, login
        self.orgs: dict[str, Any] = {}
        self.users: dict[str, Any] = {}
        self.clients: dict[str, Any] = {}

    def org(self, who: str):
        if who not in self.orgs:
            self.orgs[who] = self.factory.org(self.KINDS[who])
            self.users[who] = self.factory.user(self.orgs[who], role="org_admin")
        return self.orgs[who]

    def client(self, who: str):
        if who == "anon":
            return self.app.test_client()
        if who not in self.clients:
            self.org(who)
            self.clients[who] = self.login(self.users[who])
        return self.clients[who]

    def run(self, fn: Callable, *args, **kwargs):
        """Call fn in an app context and commit.

        The setup's commit leaves its outbox rows to the next request's sync,
        which indexes them with what the fuzzed request wrote: one index commit
        an example instead of two, and the indexer still meets every text.
        """
        following = self.app.config.get("SEARCH_SYNC_ON_COMMIT")
        self.app.config["SEARCH_SYNC_ON_COMMIT"] = False
        try:
            with self.app.app_context():
                out = fn(*args, **kwargs)
                db.session.commit()
                return out
        finally:
            self.app.config["SEARCH_SYNC_ON_COMMIT"] = following

    def field(self, code: str = "environment") -> int:
        return self.run(
            lambda: db.session.scalar(
                select(TechField.id).where(TechField.code == code)
            )
        )

    def challenge(self, **fields) -> int:
        return self.run(lambda: make_challenge(self.org("firm").id, **fields).id)

    def result(self, **fields) -> int:
        return self.run(lambda: make_result(self.org("institute").id, **fields).id)

    def bid(self, challenge_id: int, members: str = "") -> int:
        data = {**BID, "members": members}
        url = f"/proposals/challenge/{challenge_id}/new"
        response = self.client("institute").post(url, data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    def page_ok(self, who: Any, url: str) -> None:
        client = self.client(who) if isinstance(who, str) else who
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)


@pytest.fixture
def app_config(app_config):
    """Keep the search index in step, so stored text also meets the indexer."""
    return {**app_config, "SEARCH_SYNC_ON_COMMIT": True}


@pytest.fixture
def world(app, factory, login):
    return World(app, factory, login)


# --- valid values of each form --------------------------------------------------

BID = {
    "solution": "采用组合生物膜工艺，能耗降低 30%。",
    "technical_route": "小试 → 中试 → 示范",
    "price": "45.5",
    "duration_months": "12",
    "team": "张教授团队 8 人",
    "members": "",
}


# fmt: off
def challenge_form(w: World, ctx: dict) -> dict:
    return {
        "title": "锂电池回收技术需求",
        "description": "需要低能耗回收工艺。\n现状见附件。",
        "technical_targets": "回收率 ≥ 95%", "public_summary": "寻求回收方案",
        "confidential_detail": "工艺参数保密", "field": "environment",
        "region": "411702", "keywords": "锂电池、回收", "bounty": "50",
        "deadline": iso(30), "allowed_bidder_kinds": ["university", "institute"],
        "consortium_allowed": "y", "contact_name": "王经理",
        "contact_phone": "0396-1234567", "contact_email": "wang@example.cn",
        "anonymous": "y", "reveal_to": "after_terms",
        "action": "submit",
    }


def result_form(w: World, ctx: dict) -> dict:
    return {
        "title": "高效生物膜处理工艺", "abstract": "COD 去除率达 96%。",
        "field": str(w.field()), "discipline": "环境工程", "keywords": "生物膜、废水",
        "trl": "6", "ip_type": "发明专利", "ip_numbers": "ZL2020100000001",
        "transfer_modes": ["转让", "许可"], "price": "30", "benefit": "年节约 100 万元",
        "valid_until": iso(365), "contact_name": "李老师",
        "confidential_detail": "中试工艺参数保密",
        "contact_phone": "0396-7654321", "contact_email": "li@example.cn",
    }


def contract_form(w: World, ctx: dict) -> dict:
    return {
        "title": "生物膜技术转让", "contract_type": "transfer",
        "buyer_org": str(w.org("firm").id), "seller_org": str(w.org("institute").id),
        "buyer_name": "", "buyer_region": "", "seller_name": "", "seller_region": "",
        "broker_org": str(w.org("agency").id), "field": str(w.field()),
        "signed_on": iso(-3), "amount": "120.5",
        "tech_amount": "100", "term_start": iso(), "term_end": iso(365),
        "deal_id": "", "challenge_id": "", "result_id": "",
    }
# fmt: on


# --- per-example setups: fresh objects and the ids the URLs need -----------------


def _signup(w: World) -> dict:
    n = next(_serial)
    return {"n": n, "client": w.client("anon")}


def _self_login(w: World) -> dict:
    user = w.factory.user(w.org("firm"))
    return {"client": w.login(user), "uid": user.id, "org": w.org("firm").id}


def _lock(w: World) -> dict:
    from marketplace.clock import utcnow
    from marketplace.models import LoginThrottle, ThrottleScope

    def add() -> int:
        row = LoginThrottle(
            scope=ThrottleScope.ACCOUNT, key=f"locked{next(_serial)}@example.cn",
            failures=5, locks=1, locked_until=utcnow() + timedelta(minutes=15),
        )
        db.session.add(row)
        db.session.flush()
        return row.id

    admin = w.factory.user(w.org("bureau"), is_sysadmin=True)
    return {"client": w.login(admin), "throttle": w.run(add)}


def _admin(w: World, state: str = "") -> dict:
    admin = w.factory.user(w.org("bureau"), is_sysadmin=True)
    target = w.factory.user(w.org("firm"))
    if state == "logged in":  # a session for the reset to end
        w.login(target)
    if state == "inactive":  # an account to reactivate

        def deactivate():
            db.session.get(User, target.id).active = False

        w.run(deactivate)
    return {"client": w.login(admin), "uid": target.id}


def _member(w: World) -> dict:
    return {"org": w.org("firm").id, "uid": w.factory.user(w.org("firm")).id}


def _contract(w: World, status=ContractStatus.SUBMITTED) -> dict:
    firm, inst = w.org("firm"), w.org("institute")
    registered = status == ContractStatus.REGISTERED

    def add():
        contract = Contract(
            contract_type="development", buyer_org_id=firm.id, buyer_name=firm.name,
            buyer_region_code=firm.region_code, seller_org_id=inst.id,
            seller_name=inst.name, seller_region_code=inst.region_code,
            signed_on=today(-10), amount_fen=50_000_000,
            tech_amount_fen=40_000_000, paid_fen=0, status=status,
            registration_no=f"41170220269{next(_serial):05d}" if registered else None,
            registered_at=datetime.now(UTC) if registered else None,
        )  # fmt: skip
        db.session.add(contract)
        db.session.flush()
        return contract.id

    return {"contract": w.run(add)}


def _payment(w: World) -> dict:
    """A registered contract with a payment the firm recorded itself."""
    ctx = _contract(w, ContractStatus.REGISTERED)
    response = w.client("firm").post(
        f"/contracts/{ctx['contract']}/payments",
        data={"received_on": iso(), "amount": "30", "note": "误录"},
    )
    assert response.status_code == 302
    last = select(Payment.id).where(Payment.contract_id == ctx["contract"])
    newest = last.order_by(Payment.id.desc())
    return {**ctx, "payment": w.run(db.session.scalar, newest)}


def _deal(w: World) -> dict:
    data = {
        "title": "锂电池回收对接",
        "demand_org": w.org("firm").credit_code,
        "supply_org": w.org("institute").credit_code,
    }
    response = w.client("firm").post("/deals/new", data=data)
    assert response.status_code == 302
    return {"deal": int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])}


def _decidable_bid(w: World) -> dict:
    cid = w.challenge()
    bid = w.bid(cid)
    w.run(lambda: _set_deadline(cid, today(-1)))
    return {"challenge": cid, "proposal": bid}


def _set_deadline(challenge_id: int, day) -> None:
    from marketplace.models import Challenge

    db.session.get(Challenge, challenge_id).deadline = day


def _application(w: World) -> dict:
    rid = w.result()
    data = {"use_scenario": "用于本厂废水处理", "offered_terms": "一次性付款"}
    assert w.client("firm").post(f"/results/{rid}/apply", data=data).status_code == 302
    pid = w.run(
        lambda: db.session.scalar(select(Proposal.id).where(Proposal.result_id == rid))
    )
    return {"result": rid, "proposal": pid}


def _notification(w: World) -> dict:
    ctx = _application(w)
    uid = w.users["institute"].id
    nid = w.run(
        lambda: db.session.scalar(
            select(Notification.id).where(Notification.user_id == uid).limit(1)
        )
    )
    return {**ctx, "notification": nid or 1}


def _token(w: World) -> dict:
    from marketplace.models import ApiToken, User
    from marketplace.tokens.services import create_token

    w.client("firm")
    uid = w.users["firm"].id

    def make():
        create_token(db.session.get(User, uid), "fuzz")
        return db.session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()))

    return {"token": w.run(make)}


def _csv(w: World, draw) -> dict:
    text = draw(SCALAR)
    body = f"title,abstract,field,trl,keywords\n{text},{text},environment,6,{text}\n"
    name = draw(st.sampled_from(["导入.csv", "x.jsonl", "x.xlsx", "x.exe"]))
    return {"file": (io.BytesIO(_clean(body).encode()), name)}


# --- pages that show each kind of object -----------------------------------------

CHALLENGE = [
    "anon:/challenges/", "firm:/challenges/mine", "bureau:/bureau/reviews",
    "anon:/search?q=锂电池回收", "anon:/",
]  # fmt: skip
RESULT = [
    "anon:/results/", "institute:/results/mine", "bureau:/bureau/reviews",
    "anon:/search?q=生物膜处理", "anon:/match?text=高效生物膜处理工艺",
]  # fmt: skip
PROPOSAL = ["institute:/proposals/mine", "firm:/challenges/mine"]
DEALS = ["firm:/deals/", "firm:/deals/?view=list", "agency:/deals/"]
CONTRACTS = [
    "firm:/contracts/", "bureau:/contracts/", "bureau:/stats/",
    "bureau:/stats/export/month.csv", "bureau:/stats/export/top_sellers.xlsx",
]  # fmt: skip
ORGS = ["anon:/orgs/", "bureau:/bureau/verifications"]


@dataclass
class Spec:
    rule: str
    who: str
    url: str
    valid: Callable[[World, dict], dict] = lambda w, ctx: {}
    setup: Callable[..., dict] | None = None
    pages: tuple = ()
    files: bool = False
    examples: int = 12


def S(rule, who, url, valid=None, setup=None, pages=(), **kw) -> Spec:
    fn = valid if callable(valid) else (lambda w, ctx, v=valid or {}: dict(v))
    return Spec(rule, who, url, fn, setup, tuple(pages), **kw)


def _bid_ctx(w: World, members: str = "") -> dict:
    cid = w.challenge()
    return {"c": cid, "p": w.bid(cid, members)}


JUSTIFY = "该机构具备独特技术能力，且已完成相关中试验证，故定向委托。"
DECIDED = [
    "firm:/proposals/challenge/{challenge}",
    "institute:/proposals/{proposal}",
    "firm:/challenges/{challenge}",
    *PROPOSAL,
    *DEALS,
]

# fmt: off
SPECS = [
    # sign-up, login, passwords, logout
    S("/auth/signup", "self", "/auth/signup", lambda w, c: {
        "kind": "enterprise", "org_name": f"模糊测试企业{c['n']}",
        "credit_code": make_credit_code("411702", c["n"]), "region": "411702",
        "name": "张三", "email": f"fz{c['n']}@example.cn",
        "password": "Passw0rd-x1", "confirm": "Passw0rd-x1"},
      _signup, ["self:/", *ORGS], examples=12),
    S("/auth/login", "self", "/auth/login", lambda w, c: {
        "email": w.users["firm"].email, "password": PASSWORD, "remember": "y"},
      lambda w: {"client": w.client("anon"), "o": w.org("firm")}, ["self:/"],
      examples=10),
    S("/auth/password", "self", "/auth/password",
      {"current": PASSWORD, "password": "N3w-Passw0rd", "confirm": "N3w-Passw0rd"},
      _self_login, ["self:/"], examples=6),
    S("/auth/logout", "self", "/auth/logout", {}, _self_login, ["self:/"], examples=4),
    S("/auth/locks/<int:throttle_id>/unlock", "self", "/auth/locks/{throttle}/unlock",
      {}, _lock, ["self:/auth/locks"], examples=4),
    # the sysadmin's area: every action on an account carries a reason
    *[
        S(f"/admin/users/<int:user_id>/{action}", "self",
          f"/admin/users/{{uid}}/{action}", data,
          lambda w, state=state: _admin(w, state),
          ["self:/admin/users/{uid}", "self:/admin/audit", "self:/admin/users"],
          examples=6)
        for action, data, state in (
            ("deactivate", {"reason": "离职\n停用"}, ""),
            ("reactivate", {"reason": "返聘"}, "inactive"),
            ("sessions", {"reason": "疑似泄露"}, "logged in"),
            ("role", {"role": "org_admin", "reason": "接任"}, ""),
        )
    ],
    # organisations and members
    S("/orgs/<int:org_id>/edit", "firm", "/orgs/{org}/edit", lambda w, c: {
        "name": "模糊机构", "credit_code": w.org("firm").credit_code,
        "region": "411702", "description": "简介\n第二行", "website": "https://x.cn",
        "contact_phone": "0396-1"}, lambda w: {"org": w.org("firm").id},
      ["firm:/orgs/{org}", *ORGS, "firm:/orgs/{org}/members"], examples=12),
    S("/orgs/<int:org_id>/members", "firm", "/orgs/{org}/members", lambda w, c: {
        "email": f"m{next(_serial)}@example.cn", "name": "成员", "role": "member"},
      lambda w: {"org": w.org("firm").id}, ["firm:/orgs/{org}/members"], examples=10),
    S("/orgs/<int:org_id>/members/<int:user_id>/role", "firm",
      "/orgs/{org}/members/{uid}/role", {"role": "org_admin"}, _member,
      ["firm:/orgs/{org}/members"], examples=6),
    S("/orgs/<int:org_id>/members/<int:user_id>/active", "firm",
      "/orgs/{org}/members/{uid}/active", {"active": "0"}, _member,
      ["firm:/orgs/{org}/members"], examples=6),
    S("/orgs/<int:org_id>/resubmit", "firm", "/orgs/{org}/resubmit", {},
      lambda w: {"org": w.org("firm").id}, ["firm:/orgs/{org}"], examples=4),
    # challenges
    S("/challenges/new", "firm", "/challenges/new", challenge_form, None, CHALLENGE,
      examples=20),
    S("/challenges/<int:challenge_id>/edit", "firm", "/challenges/{c}/edit",
      challenge_form, lambda w: {"c": w.challenge(status=ChallengeStatus.DRAFT)},
      ["firm:/challenges/{c}", "bureau:/challenges/{c}", *CHALLENGE], examples=12),
    S("/challenges/<int:challenge_id>/submit", "firm", "/challenges/{c}/submit", {},
      lambda w: {"c": w.challenge(status=ChallengeStatus.DRAFT)}, CHALLENGE,
      examples=5),
    S("/challenges/<int:challenge_id>/withdraw", "firm", "/challenges/{c}/withdraw",
      {"note": "不再需要", "confirm": "y"}, lambda w: {"c": w.challenge()},
      ["firm:/challenges/{c}", *CHALLENGE], examples=7),
    S("/challenges/<int:challenge_id>/close-bidding", "firm",
      "/challenges/{c}/close-bidding", {"confirm": "y"}, _bid_ctx,
      ["firm:/challenges/{c}", "firm:/proposals/challenge/{c}"], examples=5),
    S("/challenges/<int:challenge_id>/accept-terms", "institute",
      "/challenges/{c}/accept-terms", {"agree": "y"}, lambda w: {"c": w.challenge()},
      ["institute:/challenges/{c}", "firm:/challenges/{c}"], examples=6),
    # results and adoption
    S("/results/new", "institute", "/results/new", result_form, None,
      [*RESULT, "bureau:/bureau/reviews"], examples=20),
    S("/results/<int:result_id>/edit", "institute", "/results/{r}/edit", result_form,
      lambda w: {"r": w.result(status=ResultStatus.DRAFT)},
      ["institute:/results/{r}", "bureau:/results/{r}", *RESULT], examples=12),
    S("/results/<int:result_id>/submit", "institute", "/results/{r}/submit", {},
      lambda w: {"r": w.result(status=ResultStatus.DRAFT)}, RESULT, examples=5),
    S("/results/<int:result_id>/withdraw", "institute", "/results/{r}/withdraw", {},
      lambda w: {"r": w.result()}, ["institute:/results/{r}", *RESULT], examples=5),
    S("/results/<int:result_id>/renew", "institute", "/results/{r}/renew",
      lambda w, c: {"valid_until": iso(700)}, lambda w: {"r": w.result()},
      ["institute:/results/{r}", "anon:/results/{r}", *RESULT], examples=8),
    S("/results/<int:result_id>/apply", "firm", "/results/{r}/apply",
      {"use_scenario": "本厂废水", "offered_terms": "一次性付款"},
      lambda w: {"r": w.result()},
      ["firm:/results/{r}", "institute:/results/{r}", "institute:/results/mine"],
      examples=10),
    S("/results/applications/<int:proposal_id>/accept", "institute",
      "/results/applications/{proposal}/accept", {}, _application,
      ["institute:/results/{result}", "firm:/deals/"], examples=5),
    S("/results/applications/<int:proposal_id>/decline", "institute",
      "/results/applications/{proposal}/decline", {"reason": "条件不符"},
      _application, ["institute:/results/{result}", "firm:/results/{result}"],
      examples=7),
    S("/results/applications/<int:proposal_id>/withdraw", "firm",
      "/results/applications/{proposal}/withdraw", {}, _application,
      ["institute:/results/{result}"], examples=5),
    # bids, decisions, consortium, direct award
    S("/proposals/challenge/<int:challenge_id>/new", "institute",
      "/proposals/challenge/{c}/new", BID, lambda w: {"c": w.challenge()},
      [*PROPOSAL, "firm:/proposals/challenge/{c}", "bureau:/proposals/challenge/{c}"],
      files=True, examples=20),
    S("/proposals/new", "institute", "/proposals/new?challenge={c}", BID,
      lambda w: {"c": w.challenge()}, PROPOSAL, examples=6),
    S("/proposals/<int:proposal_id>/edit", "institute", "/proposals/{p}/edit",
      {**BID, "remove_attachments": "1"}, _bid_ctx,
      ["institute:/proposals/{p}", "firm:/proposals/{p}", *PROPOSAL],
      files=True, examples=12),
    S("/proposals/<int:proposal_id>/withdraw", "institute", "/proposals/{p}/withdraw",
      {"reason": ""}, _bid_ctx, ["institute:/proposals/{p}", *PROPOSAL], examples=5),
    S("/proposals/<int:proposal_id>/shortlist", "firm",
      "/proposals/{proposal}/shortlist", {}, _decidable_bid, DECIDED, examples=6),
    S("/proposals/<int:proposal_id>/select", "firm", "/proposals/{proposal}/select",
      {"reason_code": "price", "note": "方案成本较高", "confirm": "y"},
      _decidable_bid, DECIDED, examples=6),
    S("/proposals/<int:proposal_id>/decline", "firm", "/proposals/{proposal}/decline",
      {"reason_code": "route", "note": "方案成本较高"}, _decidable_bid, DECIDED,
      examples=6),
    S("/proposals/<int:proposal_id>/membership", "uni", "/proposals/{p}/membership",
      {"answer": "confirm"}, lambda w: _bid_ctx(w, w.org("uni").name),
      ["uni:/proposals/{p}", "uni:/proposals/mine", "institute:/proposals/{p}"],
      examples=6),
    S("/proposals/challenge/<int:challenge_id>/direct-award", "bureau",
      "/proposals/challenge/{c}/direct-award",
      lambda w, c: {"org": w.org("institute").name, "justification": JUSTIFY},
      lambda w: {"c": w.challenge()},
      ["bureau:/proposals/challenge/{c}", "firm:/challenges/{c}", *DEALS],
      examples=7),
    # the bureau's queues
    S("/bureau/verifications/<int:org_id>/verify", "bureau",
      "/bureau/verifications/{org}/verify", {"note": "材料齐全"},
      lambda w: {"org": w.factory.org(verified=False).id},
      ["bureau:/orgs/{org}", *ORGS], examples=6),
    S("/bureau/verifications/<int:org_id>/refuse", "bureau",
      "/bureau/verifications/{org}/refuse", {"reason": "信用代码不符"},
      lambda w: {"org": w.factory.org(verified=False).id},
      ["bureau:/orgs/{org}", *ORGS], examples=6),
    S("/bureau/orgs/<int:org_id>/certifications", "bureau",
      "/bureau/orgs/{org}/certifications", {"tags": ["高新技术企业"]},
      lambda w: {"org": w.org("firm").id}, ["anon:/orgs/{org}", "bureau:/stats/"],
      examples=6),
    S("/bureau/reviews/<kind>/<int:listing_id>/approve", "bureau",
      "/bureau/reviews/challenge/{c}/approve", {"note": "同意发布"},
      lambda w: {"c": w.challenge(status=ChallengeStatus.PENDING_REVIEW)},
      ["anon:/challenges/{c}", *CHALLENGE], examples=7),
    S("/bureau/reviews/<kind>/<int:listing_id>/reject", "bureau",
      "/bureau/reviews/result/{r}/reject", {"reason_code": "unclear", "note": "请补充"},
      lambda w: {"r": w.result(status=ResultStatus.PENDING_REVIEW)},
      ["institute:/results/{r}", *RESULT], examples=7),
    S("/bureau/import", "bureau", "/bureau/import", lambda w, c: {
        "kind": "result", "org_id": str(w.org("institute").id), "org_ref": "",
        "draft": "y"}, None, [*RESULT, "bureau:/bureau/reviews"], files=True,
      examples=8),
    S("/bureau/import/contracts", "bureau", "/bureau/import/contracts", {}, None,
      ["bureau:/contracts/"], files=True, examples=5),
    S("/bureau/import/experts", "bureau", "/bureau/import/experts",
      {"password": "Expert2026pool"}, None, ["bureau:/experts/"], files=True,
      examples=5),
    # deals
    S("/deals/new", "firm", "/deals/new", lambda w, c: {
        "title": "锂电池回收对接", "demand_org": w.org("firm").credit_code,
        "supply_org": w.org("institute").name, "challenge_id": "", "result_id": ""},
      None, DEALS, examples=12),
    S("/deals/from-match", "agency", "/deals/from-match", lambda w, c: {
        "challenge_id": str(c["c"]), "result_id": str(c["r"]), "next": "/deals/"},
      lambda w: {"c": w.challenge(), "r": w.result()},
      [*DEALS, "firm:/challenges/{c}"], examples=8),
    S("/deals/<int:deal_id>/stage", "firm", "/deals/{deal}/stage",
      {"stage": "contacted", "note": "已电话沟通"}, _deal,
      ["firm:/deals/{deal}", "bureau:/deals/{deal}", *DEALS], examples=10),
    S("/deals/<int:deal_id>/notes", "firm", "/deals/{deal}/notes",
      {"note": "双方约定下周面谈"}, _deal, ["firm:/deals/{deal}", *DEALS], examples=8),
    S("/deals/<int:deal_id>/broker", "firm", "/deals/{deal}/broker",
      lambda w, c: {"broker": w.org("agency").credit_code}, _deal,
      ["firm:/deals/{deal}", *DEALS], examples=7),
    # contracts and statistics
    S("/contracts/new", "firm", "/contracts/new", contract_form, None, CONTRACTS,
      examples=20),
    S("/contracts/<int:contract_id>/register", "bureau",
      "/contracts/{contract}/register",
      lambda w, c: {"registration_no": f"41170220260{next(_serial):05d}"}, _contract,
      ["bureau:/contracts/{contract}", *CONTRACTS], examples=10),
    S("/contracts/<int:contract_id>/reject", "bureau", "/contracts/{contract}/reject",
      {"reason": "金额与附件不符"}, _contract,
      ["firm:/contracts/{contract}", *CONTRACTS],
      examples=7),
    S("/contracts/<int:contract_id>/payments", "firm",
      "/contracts/{contract}/payments",
      lambda w, c: {"received_on": iso(), "amount": "10.25", "note": "首期款"},
      _contract, ["firm:/contracts/{contract}", *CONTRACTS], examples=12),
    # corrections: a rejected contract resubmitted, a registered one corrected or
    # cancelled, a payment reversed or corrected
    S("/contracts/<int:contract_id>/edit", "firm", "/contracts/{contract}/edit",
      contract_form, lambda w: _contract(w, ContractStatus.REJECTED),
      ["firm:/contracts/{contract}", *CONTRACTS], examples=7),
    S("/contracts/<int:contract_id>/correct", "bureau",
      "/contracts/{contract}/correct",
      lambda w, c: {**contract_form(w, c), "reason": "金额录入有误"},
      lambda w: _contract(w, ContractStatus.REGISTERED),
      ["bureau:/contracts/{contract}", *CONTRACTS], examples=7),
    S("/contracts/<int:contract_id>/cancel", "bureau", "/contracts/{contract}/cancel",
      {"reason": "合同已解除"}, lambda w: _contract(w, ContractStatus.REGISTERED),
      ["bureau:/contracts/{contract}", *CONTRACTS], examples=7),
    S("/contracts/<int:contract_id>/payments/<int:payment_id>/reverse", "firm",
      "/contracts/{contract}/payments/{payment}/reverse", {"reason": "金额录入错误"},
      _payment, ["firm:/contracts/{contract}", *CONTRACTS], examples=7),
    S("/contracts/<int:contract_id>/payments/<int:payment_id>/correct", "firm",
      "/contracts/{contract}/payments/{payment}/correct",
      lambda w, c: {"received_on": iso(), "amount": "3", "note": "更正",
                    "reason": "多录一个零"},
      _payment, ["firm:/contracts/{contract}", *CONTRACTS], examples=7),
    S("/stats/targets", "bureau", "/stats/targets",
      lambda w, c: {"year": str(today().year), "amount": "50000", "note": "年度目标"},
      None,
      ["bureau:/stats/", "bureau:/stats/targets", "bureau:/stats/export/year.csv"],
      examples=12),
    # tokens and notifications
    S("/settings/tokens/", "firm", "/settings/tokens/", {"name": "报表同步"}, None,
      ["firm:/settings/tokens/"], examples=7),
    S("/settings/tokens/<int:token_id>/revoke", "firm",
      "/settings/tokens/{token}/revoke", {"confirm": "y"}, _token,
      ["firm:/settings/tokens/"],
      examples=4),
    S("/notifications/<int:notification_id>/read", "institute",
      "/notifications/{notification}/read", {"next": "/notifications/"},
      _notification, ["institute:/notifications/"], examples=4),
    S("/notifications/read-all", "institute", "/notifications/read-all", {}, None,
      ["institute:/notifications/"], examples=4),
]
# fmt: on
# Experts, integrity records, panels and projects (tests/fuzz_delivery.py).
SPECS += delivery_specs(S)
# The problem box and unmet demands (tests/fuzz_demands.py).
SPECS += demand_specs(S)
# Mailed links and the mail settings (tests/fuzz_mail.py).
SPECS += mail_specs(S)
# Message threads (tests/fuzz_messages.py).
SPECS += message_specs(S)
# NDA templates, a listing's NDA and signing (tests/fuzz_nda.py).
SPECS += nda_specs(S)
# Editing published listings and the bureau's change queue (tests/fuzz_revisions.py).
SPECS += revision_specs(S)
# Listing attachments and verification documents (tests/fuzz_files.py).
SPECS += file_specs(S)

# POST rules fuzzed elsewhere or with a reason not to.
EXCUSED = {"/api/v1/match": "JSON endpoint, fuzzed in tests/test_fuzz_api.py"}


def test_every_post_rule_is_fuzzed_or_excused(app):
    posts = {r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}
    covered = {s.rule for s in SPECS} | set(EXCUSED)
    assert posts - covered == set(), "POST rules nobody fuzzes"
    assert covered - posts == set(), "fuzz specs for rules that no longer exist"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.rule)
def test_form_fuzz(spec: Spec, world: World):
    @fuzz_settings(spec.examples)
    @given(data=st.data())
    def run(data):
        # Hypothesis seeds the global `random` alike for every example, and
        # whoosh names its segments with it: without this, the second commit
        # to the index collides with the first one's segment files.
        random.seed(next(_serial))
        ctx = spec.setup(world) if spec.setup else {}
        client = ctx.get("client") if spec.who == "self" else world.client(spec.who)
        url = spec.url.format(**ctx)
        values = data.draw(form_data(spec.valid(world, ctx)), label="form")
        if spec.files:
            files = [(io.BytesIO(b), n) for b, n in data.draw(FILES, label="files")]
            if spec.rule.startswith("/bureau/import"):
                files = (
                    [_csv(world, data.draw)["file"]] if data.draw(st.booleans()) else []
                )
            body = {k: _clean(v) for k, v in values.items()}
            uploads = spec.rule.startswith("/bureau/import")
            body["file" if uploads else "attachments"] = files
            response = client.post(url, data=body, content_type="multipart/form-data")
        else:
            response = client.post(
                url,
                data=encode(values),
                content_type="application/x-www-form-urlencoded",
            )
        assert response.status_code < 500, (url, values)
        if os.environ.get("FUZZ_TALLY"):
            print("TALLY", spec.rule, response.status_code)
        if response.status_code >= 400:
            return
        location = response.headers.get("Location", "")
        if location.startswith("/"):
            world.page_ok(client, location)
        for page in spec.pages:
            who, path = page.split(":", 1)
            world.page_ok(client if who == "self" else who, path.format(**ctx))

    run()


# --- regressions found by the fuzzers ------------------------------------------


def test_contract_form_ids_that_are_not_ids(world):
    """str.isdigit() let "²" through to int(), and SQLite overflowed on 10**30."""
    for value in ("²", "٣", str(10**30)):
        data = {**contract_form(world, {}), "deal_id": value, "challenge_id": value}
        response = world.client("firm").post("/contracts/new", data=data)
        assert response.status_code < 500, value
        response = world.client("firm").get(f"/contracts/new?deal={value}")
        assert response.status_code < 500, value


def test_deal_from_match_with_a_huge_id(world):
    """request.form.get(type=int) passed 10**30 on to the database driver."""
    data = {"challenge_id": str(10**30), "result_id": str(world.result())}
    response = world.client("agency").post("/deals/from-match", data=data)
    assert response.status_code == 404


def test_new_deal_with_a_huge_challenge_id(world):
    """The prefill's .get(type=int) handed 10**30 to SQLite, which overflowed."""
    firm, inst = world.org("firm"), world.org("institute")
    data = {"title": "对接", "demand_org": firm.credit_code,
            "supply_org": inst.name, "challenge_id": str(10**30)}  # fmt: skip
    response = world.client("firm").post("/deals/new", data=data)
    assert response.status_code == 302  # the bad id is ignored, the deal made
    response = world.client("firm").get(f"/deals/new?challenge_id={10**30}")
    assert response.status_code == 200
