"""Many users at once against gunicorn with 4 workers, on SQLite and PostgreSQL.

Enterprises post challenges (some drafted, edited, then submitted), the bureau
approves them, institutes and universities bid, the owners close bidding,
shortlist and award, record contracts and payments, and the bureau registers
the contracts: all over HTTP, as real users of several organisations, with
several users per organisation racing each other on the same objects.

Every acknowledged write carries a marker in its text and must be in the
database exactly once; every refusal must be a clean answer (a form with
errors, a flashed warning, or a 4xx), never a 5xx; the server log must not show
"database is locked"; and the search index must have followed the outbox.

LOAD_CLIENTS (default 50) and LOAD_SECONDS (default 30, as the issue asks) set the load.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests

from marketplace.clock import local_today
from tests.http_users import (
    HttpUser,
    Rows,
    ServerError,
    log_problems,
    make_people,
    search_verify,
    server_app,
    skip_other_pass,
    wait_for_drained_outbox,
)

CLIENTS = int(os.environ.get("LOAD_CLIENTS", "50"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
ENTERPRISES, BIDDERS = 4, 6
# The access log names the worker and the seconds each request took.
TIMED = "--access-logformat '<%(p)s> \"%(r)s\" %(s)s %(L)s'"


def marker(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(6)}"


class World:
    """What the clients know and what the server acknowledged to them."""

    def __init__(self, field: tuple[int, str]):
        self.lock = threading.Lock()
        self.field_id, self.field_code = field
        self.pending: list[int] = []
        self.owner: dict[int, int] = {}  # challenge id -> owner org
        self.open: dict[int, int] = {}  # challenge id -> owner org
        self.bids: dict[int, list[tuple[int, int]]] = {}  # challenge -> (pid, org)
        self.awards: list[tuple[int, int, int]] = []  # challenge, buyer, seller
        self.contracts: list[tuple[int, int, int]] = []  # contract, buyer, seller
        self.acked: dict[str, list] = {}
        self.refused: Counter = Counter()
        self.errors: list[str] = []

    def finished(self, deadline: float) -> bool:
        """After LOAD_SECONDS; on a slow machine, not before a contract was paid."""
        now = time.monotonic()
        return now >= deadline and ("payment" in self.acked or now >= deadline + 60)

    def ack(self, kind: str, value) -> None:
        with self.lock:
            self.acked.setdefault(kind, []).append(value)

    def refuse(self, kind: str) -> None:
        with self.lock:
            self.refused[kind] += 1


def challenge_form(world: World, title: str, action: str) -> dict:
    return {
        "title": title,
        "description": f"{title}：生产线能耗偏高，需要节能改造与余热回收的技术方案。",
        "technical_targets": "综合能耗下降 ≥ 15%",
        "public_summary": "寻求节能改造与余热回收技术。",
        "confidential_detail": "现有锅炉两台，蒸汽压力 1.6 MPa。",
        "field": world.field_code,
        "region": "411702",
        "keywords": "余热回收、节能改造",
        "bounty": "50",
        "deadline": (local_today() + timedelta(days=20)).isoformat(),
        "allowed_bidder_kinds": ["institute", "university"],
        "consortium_allowed": "y",
        "contact_name": "张经理",
        "contact_phone": "0396-2222222",
        "contact_email": "zhang@example.cn",
        "action": action,
    }


CHALLENGE_URL = re.compile(r"/challenges/(\d+)$")


def post_challenge(user: HttpUser, world: World, org_id: int) -> None:
    drafted = random.random() < 0.4
    title = marker("节能改造需求")
    out = user.submit(
        "/challenges/new", challenge_form(world, title, "save" if drafted else "submit")
    )
    found = CHALLENGE_URL.search(out.location)
    if not (out.ok and found):
        world.refuse("challenge")
        return
    challenge_id = int(found.group(1))
    if drafted:
        # The draft is edited (a new marker replaces the old one), then submitted.
        old, title = title, marker("节能改造需求")
        edit = f"/challenges/{challenge_id}/edit"
        out = user.submit(edit, challenge_form(world, title, "submit"))
        if not out.ok:
            world.ack("challenge", (challenge_id, old))
            world.refuse("edit")
            return
        world.ack("edit", (old, title))
    world.ack("challenge", (challenge_id, title))
    with world.lock:
        world.owner[challenge_id] = org_id
        world.pending.append(challenge_id)


def approve(user: HttpUser, world: World) -> None:
    with world.lock:
        if not world.pending:
            return
        challenge_id = random.choice(world.pending)
    out = user.submit(
        f"/bureau/reviews/challenge/{challenge_id}/approve",
        {"note": ""},
        form="/bureau/reviews" if user.token is None else "",
    )
    if out.ok:
        world.ack("approve", challenge_id)
        with world.lock:
            if challenge_id in world.pending:
                world.pending.remove(challenge_id)
            world.open.setdefault(challenge_id, world.owner[challenge_id])
    else:
        world.refuse("approve")


PROPOSAL_URL = re.compile(r"/proposals/(\d+)$")


def bid(user: HttpUser, world: World, org_id: int) -> None:
    with world.lock:
        fresh = [
            c
            for c in world.open
            if all(org != org_id for _, org in world.bids.get(c, []))
        ]
        # Mostly new challenges; sometimes one the organisation already bid on,
        # which must be refused cleanly (one live bid per organisation).
        choices = fresh if fresh and random.random() < 0.8 else list(world.open)
        if not choices:
            return
        challenge_id = random.choice(choices)
    text_ = marker("余热回收方案")
    out = user.submit(
        f"/proposals/challenge/{challenge_id}/new",
        {
            "solution": text_,
            "technical_route": "热泵回收 → 中试验证 → 产线改造。",
            "price": "30",
            "duration_months": "10",
            "team": "研究员 2 人，工程师 4 人。",
            "members": "",
        },
    )
    found = PROPOSAL_URL.search(out.location)
    if out.ok and found:
        world.ack("bid", (int(found.group(1)), text_))
        with world.lock:
            world.bids.setdefault(challenge_id, []).append(
                (int(found.group(1)), org_id)
            )
    else:
        world.refuse("bid")


def award(user: HttpUser, world: World, org_id: int) -> None:
    with world.lock:
        mine = [
            (c, bids)
            for c, bids in world.bids.items()
            if world.open.get(c) == org_id and len(bids) >= 1
        ]
        if not mine:
            return
        challenge_id, bids = random.choice(mine)
        proposal_id, seller = random.choice(bids)
    user.submit(f"/challenges/{challenge_id}/close-bidding", {"confirm": "y"})
    out = user.submit(f"/proposals/{proposal_id}/shortlist", {})
    if not out.ok:
        world.refuse("shortlist")
    out = user.submit(
        f"/proposals/{proposal_id}/select",
        {"reason_code": "price", "note": "方案最优", "confirm": "y"},
    )
    if out.ok:
        world.ack("award", (challenge_id, proposal_id))
        with world.lock:
            world.awards.append((challenge_id, org_id, seller))
            world.bids.pop(challenge_id, None)
            world.open.pop(challenge_id, None)
    else:
        world.refuse("award")


CONTRACT_URL = re.compile(r"/contracts/(\d+)$")


def record_contract(user: HttpUser, world: World, org_id: int) -> None:
    with world.lock:
        mine = [a for a in world.awards if a[1] == org_id]
        if not mine:
            return
        challenge_id, buyer, seller = random.choice(mine)
    title = marker("余热回收技术开发合同")
    out = user.submit(
        "/contracts/new",
        {
            "title": title,
            "contract_type": "development",
            "buyer_org": str(buyer),
            "seller_org": str(seller),
            "broker_org": "",
            "buyer_region": "",
            "seller_region": "",
            "field": str(world.field_id),
            "signed_on": local_today().isoformat(),
            "amount": "10",
            "tech_amount": "8",
            "challenge_id": str(challenge_id),
        },
    )
    found = CONTRACT_URL.search(out.location)
    if out.ok and found:
        world.ack("contract", (int(found.group(1)), title))
        with world.lock:
            world.contracts.append((int(found.group(1)), buyer, seller))
    else:
        world.refuse("contract")


def pay(user: HttpUser, world: World, org_id: int | None) -> None:
    with world.lock:
        mine = [c for c in world.contracts if org_id is None or org_id in c[1:]]
        if not mine:
            return
        contract_id = random.choice(mine)[0]
    note = marker("收款")
    out = user.submit(
        f"/contracts/{contract_id}/payments",
        {"received_on": local_today().isoformat(), "amount": "3", "note": note},
    )
    if out.ok:
        world.ack("payment", (contract_id, note))
    else:
        world.refuse("payment")


def register(user: HttpUser, world: World) -> None:
    with world.lock:
        if not world.contracts:
            return
        contract_id = random.choice(world.contracts)[0]
    number = "".join(random.choices("0123456789", k=16))
    out = user.submit(f"/contracts/{contract_id}/register", {"registration_no": number})
    if out.ok:
        world.ack("register", (contract_id, number))
    else:
        world.refuse("register")


def owner_step(user, world, org_id):
    """The furthest step this firm can take, with some randomness."""
    with world.lock:
        awarded = any(a[1] == org_id for a in world.awards)
        paying = any(c[1] == org_id for c in world.contracts)
        bids = any(world.open.get(c) == org_id for c in world.bids)
    roll = random.random()
    if paying and roll < 0.3:
        pay(user, world, org_id)
    elif awarded and roll < 0.6:
        record_contract(user, world, org_id)
    elif bids and roll < 0.8:
        award(user, world, org_id)
    else:
        post_challenge(user, world, org_id)


def bidder_step(user, world, org_id):
    if random.random() < 0.85:
        bid(user, world, org_id)
    else:
        pay(user, world, org_id)


def bureau_step(user, world, org_id):
    with world.lock:
        contracts = bool(world.contracts)
    if contracts and random.random() < 0.3:
        register(user, world)
    elif contracts and random.random() < 0.2:
        pay(user, world, None)
    else:
        approve(user, world)


def run_client(base_url, world, email, org_id, step, deadline) -> None:
    try:
        user = HttpUser(base_url, email).login()
        while not world.finished(deadline):
            before = user.requests
            step(user, world, org_id)
            if user.requests == before:
                time.sleep(0.1)  # nothing to do yet: let the other clients work
            elif random.random() < 0.3:
                # Pages the users read between writes must answer too.
                user.get(random.choice(("/", "/challenges/", "/contracts/")))
    except (ServerError, requests.RequestException) as error:
        with world.lock:
            world.errors.append(f"{email}: {error}")


def clients(people: dict) -> list[tuple[str, int, object]]:
    """CLIENTS (email, org, step) triples: owners, bidders and bureau staff."""
    roles = []
    for info in people.values():
        step = {"bureau": bureau_step, "enterprise": owner_step}.get(
            info["kind"], bidder_step
        )
        roles.extend((email, info["org_id"], step) for email in info["emails"])
    return roles


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_many_users_write_at_once(live_server, database):
    skip_other_pass(database)
    server = live_server(workers=4, database=database, env={"GUNICORN_CMD_ARGS": TIMED})
    app = server_app(server)
    # About 1 in 8 clients is bureau staff, 3 in 8 work for 4 firms, the rest for
    # 6 institutes and universities; several users per organisation race.
    n_bureau = max(2, CLIENTS // 8)
    n_owner = max(ENTERPRISES, CLIENTS * 3 // 8)
    n_bidder = max(BIDDERS, CLIENTS - n_bureau - n_owner)
    spec = {"bureau": ("bureau", n_bureau)}
    for i in range(ENTERPRISES):
        spec[f"firm{i}"] = ("enterprise", len(range(i, n_owner, ENTERPRISES)))
    for i in range(BIDDERS):
        kind = "institute" if i % 2 else "university"
        spec[f"bidder{i}"] = (kind, len(range(i, n_bidder, BIDDERS)))
    with app.app_context():
        people = make_people(app, spec)
    rows = Rows(server)
    field = rows.all("SELECT id, code FROM tech_fields ORDER BY id")[0]
    world = World(tuple(field))
    deadline = time.monotonic() + SECONDS
    threads = [
        threading.Thread(
            target=run_client, args=(server.base_url, world, email, org, step, deadline)
        )
        for email, org, step in clients(people)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    try:
        counts = {k: len(v) for k, v in world.acked.items()}
        print(f"\n{database}: {len(threads)} clients, {SECONDS:.0f}s")
        print(f"acknowledged: {counts}; refused: {dict(world.refused)}")
        assert world.errors == [], world.errors[:10]
        assert not any(t.is_alive() for t in threads)
        assert all(counts.get(k) for k in ("approve", "bid", "award")), counts
        check_rows(rows, world)
        problems = log_problems(server)
        assert not problems, f"{len(problems)} problems in the log:\n{problems[0]}"
        position, head = wait_for_drained_outbox(server, rows)
        assert position == head, (position, head)
        verified = search_verify(server)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        rows.close()


LIVE = {"open", "evaluating", "awarded", "contracted"}


def check_rows(rows: Rows, world: World) -> None:
    """Each acknowledged write is in the database exactly once, as acknowledged."""

    def ids_with(table: str, column: str, value: str) -> list[int]:
        sql = f"SELECT id FROM {table} WHERE {column} LIKE :v"  # noqa: S608
        return [row[0] for row in rows.all(sql, v=f"%{value}%")]

    def status(table: str, row_id: int) -> str:
        sql = f"SELECT status FROM {table} WHERE id = :i"  # noqa: S608
        return rows.scalar(sql, i=row_id)

    acked = world.acked.get
    for challenge_id, title in acked("challenge", []):
        assert ids_with("challenges", "title", title) == [challenge_id], title
    for old, _ in acked("edit", []):
        assert ids_with("challenges", "title", old) == [], old
    for challenge_id in acked("approve", []):
        assert status("challenges", challenge_id) in LIVE, challenge_id
    for proposal_id, text_ in acked("bid", []):
        assert ids_with("proposals", "solution", text_) == [proposal_id], text_
    for challenge_id, proposal_id in acked("award", []):
        assert status("proposals", proposal_id) == "selected", proposal_id
        assert status("challenges", challenge_id) in {"awarded", "contracted"}
    for contract_id, title in acked("contract", []):
        assert ids_with("contracts", "title", title) == [contract_id], title
    for contract_id, note in acked("payment", []):
        paid = rows.all("SELECT contract_id FROM payments WHERE note = :n", n=note)
        assert paid == [(contract_id,)], note
    registered = acked("register", [])
    assert len({c for c, _ in registered}) == len(registered), registered
    for contract_id, number in registered:
        row = rows.all(
            "SELECT status, registration_no FROM contracts WHERE id = :i", i=contract_id
        )
        assert [tuple(r) for r in row] == [("registered", number)]
    # One live bid per organisation per challenge, one winner per challenge.
    assert not rows.all(
        "SELECT challenge_id, org_id FROM proposals WHERE status <> 'withdrawn' "
        "AND challenge_id IS NOT NULL GROUP BY challenge_id, org_id HAVING count(*) > 1"
    )
    assert not rows.all(
        "SELECT challenge_id FROM proposals WHERE status = 'selected' "
        "AND challenge_id IS NOT NULL GROUP BY challenge_id HAVING count(*) > 1"
    )
    # Paid sums add up, never above the contract amount, and none was lost.
    assert not rows.all(
        "SELECT c.id FROM contracts c LEFT JOIN payments p ON p.contract_id = c.id "
        "GROUP BY c.id, c.paid_fen, c.amount_fen "
        "HAVING c.paid_fen <> coalesce(sum(p.amount_fen), 0) "
        "OR c.paid_fen > c.amount_fen"
    )
