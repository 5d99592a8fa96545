"""Extra fields naming ids, owners, states or roles change nothing: every POST rule.

For each POST rule of `app.url_map` the form a legitimate user sends (the valid
values and per-request setups of tests/test_fuzz_forms.SPECS, a few made to get
through below; a JSON body for the API) is posted twice from the same rows (the
first request's writes are undone before the second): once as it is, once with
extra fields the form does not have (`org_id`, `owner_id`, `user_id`,
`created_by`, `status`, `state`, `role`, `is_admin`, `amount_fen` and the like)
naming a victim organisation, its user, its open challenge and its published
result, or a privileged state. The second answer must refuse (nothing stored)
or do exactly what the first did:

- the rows the request wrote carry the same state-like values (enums, flags,
  money in fen) as after the plain request, so no status, stage, role,
  verification, activity or amount came from an extra field;
- no row the request wrote points at the victim's organisations, users or
  listings, and the victim's own rows are untouched.

A form's own fields are never replaced here (the access matrix and the rules'
own tests check those): in particular the listings a contract links through its
own `challenge_id` / `result_id` fields on /contracts/new are covered by that
rule's own regression test (a contract links only its parties' listings), not
by this sweep.
"""

from __future__ import annotations

import io
from collections import Counter
from itertools import count

import pytest
from flask import request
from flask_login import current_user
from sqlalchemy import BigInteger, Boolean, Enum, Integer, select

from marketplace.extensions import db
from marketplace.models import (
    Base,
    Challenge,
    Organisation,
    OrgKind,
    Result,
    User,
    UserRole,
    VerificationStatus,
)
from marketplace.search.sync import get_index
from tests import fuzz_delivery
from tests.factories import make_challenge, make_completed_panel, make_result
from tests.test_access_matrix import dump_rows, restore_rows
from tests.test_fuzz_forms import BID, JUSTIFY, SPECS, S, World, encode

_serial = count(1)

# Tables whose rows say who did what or how often, not what was decided.
IGNORED = {"audit_events", "search_outbox", "search_replicas"}
ORG_FIELDS = (
    "org_id", "organisation_id", "owner_org_id", "buyer_org_id", "seller_org_id",
    "broker_org_id", "demand_org_id", "supply_org_id", "winner_org_id",
    "formed_by_org_id", "taken_by_org_id",
)  # fmt: skip
USER_FIELDS = (
    "user_id", "owner_id", "created_by", "created_by_id", "submitted_by_id",
    "recorded_by_id", "registered_by_id", "broker_user_id", "decided_by_id",
    "uploaded_by_id", "set_by_id",
)  # fmt: skip
STATE_FIELDS = {
    "status": "registered",
    "state": "awarded",
    "stage": "signed",
    "verification_status": "verified",
    "verified": "1",
    "role": "org_admin",
    "is_admin": "1",
    "is_sysadmin": "y",
    "active": "0",
    "kind": "bureau",
    "amount_fen": "1",
    "price_fen": "1",
    "bounty_fen": "1",
    "paid_fen": "999999999",
    "budget_fen": "1",
    "released_fen": "999999999",
}
IMPORT_CSV = "title,abstract,field,trl,keywords\n导入成果{n},摘要,environment,6,废水\n"
CONTRACT_CSV = (
    "合同类型,买方,买方所在县区,卖方,卖方所在县区,签订日期,合同成交额\n"
    "技术开发,导入买方{n},411702,导入卖方{n},411702,2026-01-05,12\n"
)
EXPERT_CSV = (
    "邮箱,姓名,所属机构,技术领域\nimport{n}@example.cn,导入专家,{org},environment\n"
)
# The one JSON endpoint that takes a body; it only reads.
JSON_RULES = {"/api/v1/match": {"text": "食品加工废水处理", "kind": "result"}}




# Where the fuzz spec's request does not get through (it fuzzes validation too),
# one that does: a refused organisation asks again, a bid is really changed,
# and the bureau awards directly once a panel has scored.
def _refused_org(w: World) -> dict:
    org = w.factory.org(OrgKind.INSTITUTE, verified=False)
    admin = w.factory.user(org, role=UserRole.ORG_ADMIN)

    def refuse():
        db.session.get(Organisation, org.id).verification_status = (
            VerificationStatus.REFUSED
        )

    w.run(refuse)
    return {"org": org.id, "client": w.login(admin)}


def _scored_challenge(w: World) -> dict:
    challenge = w.challenge()
    w.bid(challenge)
    w.run(lambda: make_completed_panel(w.factory, challenge))
    return {"c": challenge}


OVERRIDES = {
    spec.rule: spec
    for spec in (
        S("/orgs/<int:org_id>/resubmit", "self", "/orgs/{org}/resubmit", {},
          _refused_org),
        S("/proposals/<int:proposal_id>/edit", "institute", "/proposals/{p}/edit",
          {**BID, "solution": "改用膜生物反应器，能耗再降 10%。"},
          lambda w: {"p": w.bid(w.challenge())}, files=True),
        S("/proposals/challenge/<int:challenge_id>/direct-award", "bureau",
          "/proposals/challenge/{c}/direct-award",
          lambda w, c: {"org": w.org("institute").name, "justification": JUSTIFY},
          _scored_challenge),
    )
}  # fmt: skip
SWEPT = [OVERRIDES.get(spec.rule, spec) for spec in SPECS]
# Requests that only read, or have nothing to do on fresh objects.
IDLE = {"/notifications/read-all", "/match", "/api/v1/match"}
# A bureau review of a thread writes only its audit event (ignored above).
IDLE |= {"/messages/<int:thread_id>/review"}
# The world's bid is not shortlisted, so selecting it is refused; a refused post
# writes nothing (the overdue challenge's expiry is left to `listings expire`).
IDLE |= {"/proposals/<int:proposal_id>/select"}


def state_columns(table) -> list[str]:
    """The columns a request's outcome is judged by: enums, flags, money."""
    return [
        c.name
        for c in table.columns
        if isinstance(c.type, (Enum, Boolean))
        or (isinstance(c.type, (Integer, BigInteger)) and c.name.endswith("_fen"))
    ]


def dump(rows: dict) -> dict:
    """Every row of every table that matters, by primary key, from `dump_rows`.

    dump_rows leaves out the empty tables: a table missing here had no row.
    """
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    keyed = {}
    for name, table_rows in rows.items():
        if name in IGNORED:
            continue
        keys = [c.name for c in tables[name].primary_key.columns]
        keyed[name] = {tuple(r[k] for k in keys): r for r in table_rows}
    return keyed


def written(before: dict, after: dict) -> list[tuple[str, tuple, dict]]:
    """The rows the request added, changed or deleted (a deleted row as {}).

    A table missing from a snapshot was empty.
    """
    out = []
    for name in sorted(before.keys() | after.keys()):
        old, rows = before.get(name, {}), after.get(name, {})
        out += [(name, pk, row) for pk, row in rows.items() if old.get(pk) != row]
        out += [(name, pk, {}) for pk in old.keys() - rows.keys()]
    return out


def outcome(rows: list) -> Counter:
    """What the request decided: the state-like values of the rows it wrote."""
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    seen: Counter = Counter()
    for name, _pk, row in rows:
        if not row:
            seen[(name, "deleted")] += 1
            continue
        for column in state_columns(tables[name]):
            seen[(name, column, row[column])] += 1
    return seen


def victim_links(rows: list, victim: dict) -> list[str]:
    """Rows written that point at the victim's objects, or are those objects."""
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    found = []
    for name, pk, row in rows:
        if pk in {(i,) for i in victim.get(name, ())}:
            found.append(f"{name} {pk} itself")
        for column in tables[name].columns:
            for key in column.foreign_keys:
                target = key.column.table.name
                if row and row.get(column.name) in victim.get(target, ()):
                    found.append(f"{name}.{column.name}={row[column.name]}")
    return found


class Sweep:
    """The world, the victim and one request sent as a form or as JSON."""

    def __init__(self, app, factory, login):
        self.app = app
        self.world = World(app, factory, login)
        enterprise = factory.org(OrgKind.ENTERPRISE)
        institute = factory.org(OrgKind.INSTITUTE)
        users = [factory.user(enterprise), factory.user(institute)]
        with app.app_context():
            challenge = make_challenge(enterprise.id)
            result = make_result(institute.id)
            db.session.commit()
            ids = {"challenge": challenge.id, "result": result.id}
        self.victim = {
            "organisations": {enterprise.id, institute.id},
            "users": {u.id for u in users},
            Challenge.__tablename__: {ids["challenge"]},
            Result.__tablename__: {ids["result"]},
        }
        self.extras = {
            **dict.fromkeys(ORG_FIELDS, str(enterprise.id)),
            **dict.fromkeys(USER_FIELDS, str(users[0].id)),
            "challenge_id": str(ids["challenge"]),
            "result_id": str(ids["result"]),
            "id": str(ids["challenge"]),
            **STATE_FIELDS,
        }

    def extra_for(self, fields) -> dict:
        """The extra fields a form does not have itself."""
        return {k: v for k, v in self.extras.items() if k not in fields}

    def send_form(self, spec, extra: bool, ctx: dict | None = None):
        """Post the spec's valid form (plus the extras); the answer and rows written.

        Without ctx the spec's setup makes fresh objects; the context is returned
        so that the other request can use the same ones.
        """
        w = self.world
        if ctx is None:
            ctx = spec.setup(w) if spec.setup else {}
        client = ctx.get("client") if spec.who == "self" else w.client(spec.who)
        data = spec.valid(w, ctx)
        if extra:
            data = {**data, **self.extra_for(data)}
        # The experts' organisation exists before the snapshot: not a row written.
        org = w.org("institute").name if spec.rule == "/bureau/import/experts" else ""
        # One read of the rows: the snapshot, and for restore_rows before the next
        # request.
        url, self.saved = spec.url.format(**ctx), dump_rows(self.app)
        before = dump(self.saved)
        if spec.rule.startswith("/bureau/import"):
            table = {
                "/bureau/import": IMPORT_CSV,
                "/bureau/import/contracts": CONTRACT_CSV,
                "/bureau/import/experts": EXPERT_CSV,
            }[spec.rule]
            rows = table.format(n=next(_serial), org=org)
            data["file"] = (io.BytesIO(rows.encode()), "导入.csv")
        if spec.files or spec.rule.startswith("/bureau/import"):
            response = client.post(url, data=data, content_type="multipart/form-data")
        else:
            response = client.post(
                url, data=encode(data), content_type="application/x-www-form-urlencoded"
            )
        return response, written(before, self.snapshot()), ctx

    def send_json(self, rule: str, extra: bool):
        body = dict(JSON_RULES[rule])
        if extra:
            body.update(self.extra_for(body))
        client = self.world.client("firm")
        before = self.snapshot()
        response = client.post(rule, json=body)
        return response, written(before, self.snapshot()), {}

    def snapshot(self) -> dict:
        return dump(dump_rows(self.app))


@pytest.fixture
def sweep(app, factory, login, monkeypatch):
    # The delivery specs take their choice fields in turn from this counter
    # (tests/fuzz_delivery._pick, 2 or 3 options); stepping it by 6 keeps every
    # choice the same for both requests while the numbers stay unique.
    monkeypatch.setattr(fuzz_delivery, "_serial", count(600_000, 6))
    return Sweep(app, factory, login)


def check(plain, probe, victim: dict, what: str) -> None:
    """The probe refused and stored nothing, or did just what the plain request did."""
    (answer, rows, _), (probe_answer, probe_rows, _) = plain, probe
    assert answer.status_code < 400, (what, answer.status_code)
    assert rows or what in IDLE, (what, "the plain request did nothing")
    assert probe_answer.status_code < 500, (what, probe_answer.status_code)
    links = victim_links(probe_rows, victim)
    assert not links, (what, "extra fields reached another party", links)
    if probe_answer.status_code >= 400:
        assert not outcome(probe_rows), (what, "refused but wrote", probe_rows)
        return
    assert probe_answer.status_code == answer.status_code, what
    assert outcome(probe_rows) == outcome(rows), (
        what,
        "extra fields changed the outcome",
        outcome(probe_rows) - outcome(rows),
        outcome(rows) - outcome(probe_rows),
    )


def test_every_post_rule_is_swept(app):
    posts = {r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}
    swept = {s.rule for s in SWEPT} | set(JSON_RULES)
    assert posts - swept == set(), "POST rules nobody sweeps for extra fields"


@pytest.mark.parametrize(
    "spec", SWEPT, ids=lambda s: f"{s.who}:{s.rule}" if s.who == "anon" else s.rule
)
def test_extra_fields_change_nothing(spec, sweep, app):
    sweep_one(spec, sweep, app)


def sweep_one(spec, sweep, app) -> None:
    plain = sweep.send_form(spec, extra=False)
    # Both requests start from the same rows: the plain one's writes are undone.
    restore_rows(app, sweep.saved)
    # A visitor's own client (sign-up, login, logout) is not reused: fresh ones.
    ctx = None if spec.who == "self" else plain[2]
    probe = sweep.send_form(spec, extra=True, ctx=ctx)
    check(plain, probe, sweep.victim, spec.rule)


def _trust_a_state(form) -> None:
    if form.get("is_sysadmin") and current_user.is_authenticated:
        db.session.get(User, current_user.id).is_sysadmin = True


def _trust_an_owner(form) -> None:
    if form.get("organisation_id"):
        newest = db.session.scalar(select(Challenge).order_by(Challenge.id.desc()))
        newest.org_id = int(form["organisation_id"])


@pytest.mark.parametrize(
    ("rule", "trust", "message"),
    [
        ("/settings/tokens/", _trust_a_state, "changed the outcome"),
        ("/challenges/new", _trust_an_owner, "reached another party"),
    ],
)
def test_the_sweep_catches_a_server_that_trusts_them(
    sweep, app, rule, trust, message
):
    """A server that took an extra field at its word fails the sweep."""

    @app.after_request
    def trusting(response):
        if request.method == "POST":
            trust(request.form)
            db.session.commit()
        return response

    spec = next(s for s in SWEPT if s.rule == rule)
    with pytest.raises(AssertionError, match=message):
        sweep_one(spec, sweep, app)


@pytest.mark.parametrize("rule", sorted(JSON_RULES))
def test_extra_json_fields_change_nothing(rule, sweep, db):
    get_index().reindex(db.session)
    db.session.commit()
    plain = sweep.send_json(rule, extra=False)
    probe = sweep.send_json(rule, extra=True)
    check(plain, probe, sweep.victim, rule)
    assert probe[0].is_json
