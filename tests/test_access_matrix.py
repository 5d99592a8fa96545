"""The access matrix: every URL rule, every method, every role, against a table.

`test_access_matrix[role]` walks every rule of `app.url_map` (`static` aside)
for every method it accepts (HEAD and OPTIONS aside) as one role, and compares
the answer with `tests/access_table.TABLE`:

- *allowed* means the request got past the permission checks: not 401, 403, 404
  or 405, not a redirect to the login page, and no server error. A 400 or 422
  for a form that does not validate, or a redirect back with a flashed refusal
  by the state machine, is allowed: the permission check let it through.
- *denied* means 403 or 404; for the anonymous visitor also a redirect to
  /auth/login (pages) or a 401 (the JSON API). Any other answer is a mismatch.
- after every denied POST the database must be unchanged: every table (the
  audit log aside, as denials are recorded there) is compared with a snapshot
  whenever the request sent any write statement, and once more after the last.
  Denied POSTs carry real form data (access_table.POST_DATA) so that a missing
  check would have changed something.

Requests run GETs first, then the denied POSTs, then the allowed POSTs (which may
change things). One app and one world are built for the module; before each
test every table is put back to the world's rows, so each role (and each
object-level test) starts from the same state. All mismatches of a role are
reported together. The object-level tests after it check organisation B against
organisation A's objects with real form data and look into the pages' source.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import String, event, exists, literal, select, union_all

from marketplace.extensions import db as _db
from marketplace.models import (
    AuditEvent,
    Base,
    Exemption,
    ExemptionStatus,
    Notification,
    PanelStatus,
    ReviewPanel,
)
from tests import access_delivery as D
from tests import access_table as T
from tests.conftest import PASSWORD, build_test_app, settings_for
from tests.factories import Factory

SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def rules(app):
    """Every (rule, method) pair the app answers, in a stable order."""
    pairs = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - SKIPPED_METHODS):
            pairs.append((rule.rule, method))
    return sorted(pairs)


def tables_with_rows(session, tables=None) -> set[str]:
    """The names of the tables (all by default) that hold a row, in one query.

    Most tables are empty in a test; reading only the others saves a query each.
    """
    tables = Base.metadata.sorted_tables if tables is None else tables
    return set(session.scalars(_probe_tables(tuple(tables))))


@functools.cache
def _probe_tables(tables: tuple):
    """SELECT '<name>' WHERE EXISTS (SELECT * FROM <name>) UNION ALL ..., built once."""
    return union_all(
        *(
            select(literal(t.name, String).label("name")).where(exists().select_from(t))
            for t in tables
        )
    )


def dump_rows(app) -> dict:
    """Every row of every table, to put back before each test (no empty table)."""
    with app.app_context():
        full = tables_with_rows(_db.session)
        rows = {
            table.name: [dict(r._mapping) for r in _db.session.execute(select(table))]
            for table in Base.metadata.sorted_tables
            if table.name in full
        }
    return rows


def restore_rows(app, rows: dict) -> None:
    """Empty every table and insert the dumped rows again, ids and all.

    A table missing from `rows` was empty. Only the tables holding a row now are
    emptied; each table's rows go back in one executemany.
    """
    tables = Base.metadata.sorted_tables
    with app.app_context():
        conn = _db.session.connection()
        full = tables_with_rows(conn)
        # A few rows each: DELETE is quicker than TRUNCATE, on PostgreSQL too.
        for table in reversed(tables):
            if table.name in full:
                conn.execute(table.delete())
        for table in tables:
            if rows.get(table.name):
                conn.execute(table.insert(), rows[table.name])
        _db.session.commit()
    app.extensions["page_cache"].clear()


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, pg_schema):
    """One app and one world for the module (the per-test `app` is too slow here)."""
    root = tmp_path_factory.mktemp("access_matrix")
    # The per-test app's settings; the page cache stays off as in testing.
    config = {**settings_for(root), "PAGE_CACHE_SECONDS": 0}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MARKETPLACE_ENV", "testing")
        patch.setenv("MARKETPLACE_INSTANCE", str(root / "instance"))
        app = build_test_app(config, pg_schema)
        world = T.build_world(app, Factory(app, PASSWORD))
        rows = dump_rows(app)
        yield {"app": app, "world": world, "rows": rows}
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def world(matrix):
    """The module's world, its tables reset to how it was built."""
    restore_rows(matrix["app"], matrix["rows"])
    return {**matrix["world"], "app": matrix["app"]}


def client_for(world, role):
    """A test client logged in as the role (anonymous for "anon")."""
    client = world["app"].test_client()
    if role != "anon":
        user = world["users"][role]
        response = client.post(
            "/auth/login", data={"email": user.email, "password": PASSWORD}
        )
        assert response.status_code == 302, (role, response.status_code)
    return client


def url_of(rule: str, ids: dict) -> str:
    """The rule with its parameters filled from the world (and its query string)."""
    chosen = {**T.DEFAULT_PARAMS, **T.RULE_PARAMS.get(rule, {})}

    def value(match):
        name = match.group(1)
        return str(T.LITERAL_PARAMS.get(name) or ids[chosen[name]])

    url = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", value, rule)
    if rule in T.QUERY:
        url += "?" + T.QUERY[rule].format(**ids)
    return url


def post_data(rule: str, ids: dict) -> dict:
    """The rule's form, keys and values filled from the world (lists stay lists)."""

    def fill(value):
        if isinstance(value, list):
            return [item.format(**ids) for item in value]
        return value.format(**ids)

    return {k.format(**ids): fill(v) for k, v in T.POST_DATA.get(rule, {}).items()}


# Not state a request may change: the audit log, and stored matches, a cache of
# the index's answers a listing page fills on first view (matching/stored.py).
UNWATCHED_TABLES = {AuditEvent.__tablename__, "stored_matches"}


def snapshot(app) -> dict:
    """Every row of every table but the unwatched ones, to compare before and after.

    An empty table is left out: a table missing from a snapshot had no row.
    """
    state = {}
    with app.app_context():
        watched = [
            t for t in Base.metadata.sorted_tables if t.name not in UNWATCHED_TABLES
        ]
        full = tables_with_rows(_db.session, watched)
        for table in watched:
            if table.name in full:
                rows = _db.session.execute(select(table)).all()
                state[table.name] = sorted(map(repr, rows))
    return state


class WriteWatch:
    """Notes whether any statement other than an audit record wrote to the database.

    Comparing whole snapshots after each of hundreds of denied POSTs is slow on
    PostgreSQL; a snapshot is compared whenever a write was seen, and once more
    at the end of the denied requests, so nothing that stuck goes unnoticed.
    """

    WRITES = ("INSERT", "UPDATE", "DELETE")

    def __init__(self, app):
        with app.app_context():
            self.engine = _db.engine
        self.wrote = False

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        words = statement.lstrip().split(None, 3)
        if (
            words
            and words[0].upper() in self.WRITES
            and AuditEvent.__tablename__ not in " ".join(words[1:3])
        ):
            self.wrote = True

    def take(self) -> bool:
        """Whether a write was seen since the last call."""
        wrote, self.wrote = self.wrote, False
        return wrote


def changed_tables(before: dict, after: dict) -> list[str]:
    names = before.keys() | after.keys()
    return sorted(name for name in names if before.get(name) != after.get(name))


def is_login_redirect(response) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    return urlsplit(response.headers.get("Location", "")).path == "/auth/login"


def verdict(response, role: str, rule: str) -> str:
    """Classify an answer: allowed, denied, or odd (a server error, a 405 ...)."""
    code = response.status_code
    if code in (403, 404):
        return "denied"
    if role == "anon" and (
        is_login_redirect(response) or (code == 401 and rule.startswith("/api/"))
    ):
        return "denied"
    if code in (401, 405) or code >= 500 or is_login_redirect(response):
        return "odd"
    return "allowed"


def send(client, method: str, url: str, data: dict):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data=data)


# --- the matrix ------------------------------------------------------------------


def test_table_covers_every_rule(matrix):
    """A new route (or method) without an entry in the table fails here."""
    served = set(rules(matrix["app"]))
    listed = set(T.TABLE)
    assert not served - listed, (
        f"rules missing from the table: {sorted(served - listed)}"
    )
    assert not listed - served, f"table entries with no rule: {sorted(listed - served)}"
    for key, roles in T.TABLE.items():
        assert roles <= T.ALL, (key, roles - T.ALL)
    for rule in {*T.RULE_PARAMS, *T.QUERY, *T.POST_DATA, *T.RUN_LAST}:
        assert any(rule == r for r, _ in served), f"stale entry for {rule}"


@pytest.mark.parametrize("role", T.ROLES)
def test_access_matrix(world, role):
    app, ids = world["app"], world["ids"]
    client = client_for(world, role)
    cells = [(r, m) for r, m in rules(app) if (r, m) in T.TABLE]
    gets = [c for c in cells if c[1] == "GET"]
    posts = [c for c in cells if c[1] != "GET"]
    denied_posts = [c for c in posts if role not in T.TABLE[c]]
    allowed_posts = sorted(
        (c for c in posts if role in T.TABLE[c]),
        key=lambda c: T.RUN_LAST.index(c[0]) + 1 if c[0] in T.RUN_LAST else 0,
    )
    failures = []

    def check(rule, method):
        url = url_of(rule, ids)
        response = send(client, method, url, post_data(rule, ids))
        expected = "allowed" if role in T.TABLE[(rule, method)] else "denied"
        got = verdict(response, role, rule)
        if got != expected:
            where = response.headers.get("Location", "")
            failures.append(
                f"{method} {url} as {role}: expected {expected}, got "
                f"{response.status_code} {where}".rstrip()
            )
        return got

    for rule, method in gets:
        check(rule, method)
    before = snapshot(app)
    with WriteWatch(app) as watch:
        for rule, method in denied_posts:
            watch.take()
            if check(rule, method) == "denied" and watch.take():
                after = snapshot(app)
                if after != before:
                    failures.append(
                        f"{method} {rule} as {role} was denied but changed "
                        f"{changed_tables(before, after)}"
                    )
                    before = after
    after = snapshot(app)
    if after != before:
        failures.append(
            f"denied POSTs as {role} changed {changed_tables(before, after)}"
        )
    for rule, method in allowed_posts:
        check(rule, method)
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures)


# --- object level: organisation B on organisation A's things ----------------------


def expect(response, codes, what):
    assert response.status_code in codes, (what, response.status_code)
    return response


def test_other_org_cannot_see_or_change_drafts(world):
    app, ids = world["app"], world["ids"]
    ent_b, uni_b = client_for(world, "ent_b"), client_for(world, "uni_b")
    inst_b, agency_b = client_for(world, "inst_b"), client_for(world, "agency_b")
    before = snapshot(app)
    draft = ids["challenge_draft"]
    for url in (f"/challenges/{draft}", f"/challenges/{draft}/edit"):
        expect(ent_b.get(url), {404}, url)
    for action in ("edit", "submit", "withdraw", "close-bidding"):
        url = f"/challenges/{draft}/{action}"
        data = {"title": "乙篡改的标题", "confirm": "y", "action": "submit"}
        expect(ent_b.post(url, data=data), {404}, url)
    result = ids["result_draft"]
    expect(uni_b.get(f"/results/{result}"), {404}, "result draft")
    for action in ("edit", "submit", "withdraw", "renew"):
        url = f"/results/{result}/{action}"
        data = {"title": "乙篡改的成果", "valid_until": ids["renew_date"]}
        expect(uni_b.post(url, data=data), {404}, url)
    # Nor can B bid on, adopt, match or open deals from drafts (or listings still
    # under review), by any door.
    for listing in (draft, ids["challenge_pending"]):
        for url in (
            f"/challenges/{listing}",
            f"/proposals/challenge/{listing}",
            f"/proposals/challenge/{listing}/new",
            f"/proposals/new?challenge={listing}",
            f"/api/v1/challenges/{listing}/matches",
            f"/deals/new?challenge_id={listing}",
        ):
            expect(inst_b.get(url), {404}, url)
        bid = {"solution": "乙的方案", "price": "10", "duration_months": "6"}
        url = f"/proposals/challenge/{listing}/new"
        expect(inst_b.post(url, data=bid), {404}, url)
        match = {"challenge_id": str(listing), "result_id": str(ids["result"])}
        expect(agency_b.post("/deals/from-match", data=match), {404}, "from-match")
    adopt = {"use_scenario": "乙的场景", "offered_terms": "乙的条件"}
    expect(ent_b.post(f"/results/{result}/apply", data=adopt), {404}, "apply")
    expect(ent_b.get(f"/api/v1/results/{result}/matches"), {404}, "result matches")
    match = {"challenge_id": str(ids["challenge"]), "result_id": str(result)}
    expect(agency_b.post("/deals/from-match", data=match), {404}, "from-match")
    # Nor do the drafts' titles show up in lists, searches or A's profile.
    for client, title, urls in (
        (
            ent_b,
            "甲的草稿需求",
            ["/challenges/", "/challenges/?mine=1", "/challenges/mine", "/"],
        ),
        (
            uni_b,
            "甲的草稿成果",
            ["/results/", "/results/mine", f"/orgs/{ids['org:uni_a']}"],
        ),
    ):
        # Searched without the "甲的" prefix: the page repeats the query.
        query = title.removeprefix("甲的")
        urls += [f"/search?q={query}", f"/api/v1/search?q={query}"]
        for url in urls:
            page = expect(client.get(url), {200}, url).get_data(as_text=True)
            assert title not in page, url
    assert snapshot(app) == before
    # The owner does see its draft (so the checks above look at the right text).
    owner = client_for(world, "ent_a").get("/challenges/mine")
    assert "甲的草稿需求" in owner.get_data(as_text=True)


def test_confidential_detail_only_to_those_who_accepted(world):
    app, ids = world["app"], world["ids"]
    url = f"/challenges/{ids['challenge']}"

    def page(client, path=url):
        return expect(client.get(path), {200}, path).get_data(as_text=True)

    outsiders = {r: client_for(world, r) for r in ("anon", "ent_b", "uni_b")}
    unverified = client_for(world, "unverified")
    before = snapshot(app)
    for role, client in {**outsiders, "unverified": unverified}.items():
        for path in (
            url,
            "/challenges/",
            "/search?q=废水处理",
            "/api/v1/search?q=保密参数",
            f"/api/v1/challenges/{ids['challenge']}/matches",
        ):
            assert T.SECRET not in page(client, path), (role, path)
    # Words found only in the confidential part find nothing (no search oracle),
    # while the public words find the challenge.
    for query in ("废水处理", "菌种编号", "BX-204", "反应温度"):
        hits = outsiders["anon"].get(f"/api/v1/search?q={query}").get_json()
        found = {(i["kind"], i["id"]) for i in hits["items"]}
        public = query == "废水处理"
        assert (("challenge", ids["challenge"]) in found) == public, query
    # An unverified organisation may not accept the terms at all.
    expect(unverified.post(f"{url}/accept-terms", data={"agree": "y"}), {403}, "accept")
    assert T.SECRET not in page(unverified)
    assert snapshot(app) == before
    # Accepting shows it to that user only.
    ent_b = outsiders["ent_b"]
    expect(ent_b.post(f"{url}/accept-terms", data={"agree": "y"}), {302}, "accept")
    assert T.SECRET in page(ent_b)
    assert T.SECRET not in page(outsiders["uni_b"])
    assert T.SECRET not in page(outsiders["anon"])
    for insider in ("ent_a", "bureau"):
        assert T.SECRET in page(client_for(world, insider)), insider


def test_other_org_cannot_reach_a_bid_or_its_attachment(world):
    app, ids = world["app"], world["ids"]
    proposal, attachment = ids["proposal"], ids["attachment"]
    download = f"/proposals/attachments/{attachment}"
    marker = "MATRIX-BID-3390"
    roles = ("inst_b", "ent_b", "uni_b", "uni_a", "anon", "inst_a")
    clients = {role: client_for(world, role) for role in roles}
    inst_b = clients["inst_b"]
    before = snapshot(app)
    for url in (f"/proposals/{proposal}", f"/proposals/{proposal}/edit", download):
        body = expect(inst_b.get(url), {404}, url).get_data()
        assert b"MATRIX-ATTACH" not in body and marker.encode() not in body
    listing = inst_b.get(f"/proposals/challenge/{ids['challenge']}")
    expect(listing, {403}, "bids of the challenge")
    assert marker not in listing.get_data(as_text=True)
    assert marker not in inst_b.get("/proposals/mine").get_data(as_text=True)
    posts = {
        "inst_b": ["edit", "withdraw", "membership"],
        "ent_b": ["shortlist", "select", "decline"],
        "uni_b": ["membership"],
    }
    data = {"solution": "乙改的方案", "answer": "confirm", "reason": "x"}
    for role, actions in posts.items():
        client = clients[role]
        for action in actions:
            url = f"/proposals/{proposal}/{action}"
            expect(client.post(url, data=data), {404}, (role, url))
    application = ids["application"]
    for role, action in (
        ("ent_b", "withdraw"),
        ("uni_b", "accept"),
        ("uni_b", "decline"),
    ):
        url = f"/results/applications/{application}/{action}"
        expect(clients[role].post(url, data=data), {404}, (role, url))
    # The consortium member reads the bid but not its files (only bidder, poster,
    # bureau); the anonymous visitor gets nothing either.
    uni_a = clients["uni_a"]
    expect(uni_a.get(f"/proposals/{proposal}"), {200}, "member reads")
    expect(uni_a.get(download), {404}, "member downloads")
    expect(clients["anon"].get(download), {404}, "anonymous download")
    assert snapshot(app) == before
    own = clients["inst_a"].get(f"/proposals/{proposal}")
    assert marker in own.get_data(as_text=True)
    bidder = clients["inst_a"].get(download)
    assert bidder.status_code == 200 and bidder.get_data() == T.ATTACHMENT_BYTES
    assert bidder.headers["Content-Disposition"].startswith("attachment")


def test_other_org_cannot_reach_a_deal_or_contract(world):
    app, ids = world["app"], world["ids"]
    deal, contract = ids["deal"], ids["contract"]
    roles = ("ent_b", "uni_b", "agency_b", "inst_b", "ent_a", "bureau")
    clients = {role: client_for(world, role) for role in roles}
    before = snapshot(app)
    for role in roles[:4]:
        client = clients[role]
        for url in (
            f"/deals/{deal}",
            f"/contracts/{contract}",
            f"/contracts/new?deal={deal}",
        ):
            expect(client.get(url), {404}, (role, url))
        for url, data in (
            (f"/deals/{deal}/stage", {"stage": "contacted", "note": "乙推进"}),
            (f"/deals/{deal}/notes", {"note": "乙的备注"}),
            (f"/deals/{deal}/broker", {"broker": world["orgs"]["agency_b"].name}),
            (
                f"/contracts/{contract}/payments",
                {"received_on": "2026-02-01", "amount": "1"},
            ),
            (
                f"/contracts/{contract}/register",
                {"registration_no": "4117020026000999"},
            ),
            (f"/contracts/{contract}/reject", {"reason": "乙退回"}),
            ("/contracts/new", {"deal_id": str(deal), "title": "乙的合同"}),
        ):
            expect(client.post(url, data=data), {404}, (role, url))
        for url, marker in (
            ("/deals/", "MATRIX-DEAL"),
            ("/deals/?view=list", "MATRIX-DEAL"),
            ("/contracts/", f'href="/contracts/{contract}"'),
        ):
            assert marker not in client.get(url).get_data(as_text=True), (role, url)
    # Nor may B open a deal or record a contract between A's organisations.
    orgs = world["orgs"]
    ent_b = clients["ent_b"]
    deal_form = {
        "title": "乙替甲撮合",
        "demand_org": orgs["ent_a"].name,
        "supply_org": orgs["uni_a"].name,
    }
    expect(ent_b.post("/deals/new", data=deal_form), {422}, "deal for others")
    contract_form = {
        "title": "乙替甲登记",
        "contract_type": "development",
        "buyer_org": str(orgs["ent_a"].id),
        "seller_org": str(orgs["inst_a"].id),
        "signed_on": "2026-01-05",
        "amount": "10",
        "tech_amount": "8",
    }
    refused = expect(ent_b.post("/contracts/new", data=contract_form), {200}, "c")
    assert "只有合同双方" in refused.get_data(as_text=True)
    # A party may read but not register; the bureau reads deals but does not act.
    ent_a = clients["ent_a"]
    assert "MATRIX-DEAL" in ent_a.get("/deals/").get_data(as_text=True)
    link = f'href="/contracts/{contract}"'
    assert link in ent_a.get("/contracts/").get_data(as_text=True)
    data = {"registration_no": "4117020026000999"}
    expect(ent_a.post(f"/contracts/{contract}/register", data=data), {403}, "register")
    bureau = clients["bureau"]
    expect(
        bureau.post(f"/deals/{deal}/stage", data={"stage": "contacted"}),
        {403},
        "bureau",
    )
    assert snapshot(app) == before


def test_notifications_and_tokens_stay_with_their_user(world):
    app, ids = world["app"], world["ids"]
    roles = ("ent_a_admin", "ent_b", "bureau")
    clients = {role: client_for(world, role) for role in roles}
    before = snapshot(app)
    for role, client in clients.items():
        url = f"/notifications/{ids['notification']}/read"
        expect(client.post(url), {404}, (role, url))
        expect(client.post("/notifications/read-all"), {302}, (role, "read-all"))
        assert "MATRIX-NOTE" not in client.get("/notifications/").get_data(as_text=True)
        url = f"/settings/tokens/{ids['token']}/revoke"
        expect(client.post(url), {404}, (role, url))
        assert "甲的令牌" not in client.get("/settings/tokens/").get_data(as_text=True)
    assert snapshot(app) == before
    owner = client_for(world, "ent_a")
    assert "MATRIX-NOTE" in owner.get("/notifications/").get_data(as_text=True)
    expect(owner.post(f"/notifications/{ids['notification']}/read"), {302}, "own")
    with app.app_context():
        assert _db.session.get(Notification, ids["notification"]).read_at is not None


def test_stats_and_exports_are_bureau_only(world):
    from marketplace.stats.exports import TABLES

    app = world["app"]
    clients = {
        r: client_for(world, r)
        for r in ("anon", "ent_a_admin", "uni_a", "agency_a", "bureau")
    }
    before = snapshot(app)
    urls = [f"/stats/export/{n}.{e}" for n in sorted(TABLES) for e in ("csv", "xlsx")]
    for role, client in clients.items():
        for url in [*urls, "/stats/", "/stats/targets", "/api/v1/stats/turnover"]:
            response = client.get(url)
            if role == "bureau":
                assert response.status_code == 200, url
                if url.startswith("/stats/export/"):
                    assert response.headers["Content-Disposition"].startswith(
                        "attachment"
                    )
            elif role == "anon":
                assert verdict(response, "anon", url) == "denied", url
            else:
                assert response.status_code == 403, (role, url)
        if role != "bureau":
            response = client.post(
                "/stats/targets", data={"year": "2031", "amount": "100"}
            )
            assert verdict(response, role, "/stats/targets") == "denied", role
    assert snapshot(app) == before


# --- object level: delivery (projects, panels, exemption, integrity records) -----


RANKING = ">汇总排名</h2>"  # the heading of a completed panel's results


def page_of(client, url, codes=frozenset({200})) -> str:
    return expect(client.get(url), codes, url).get_data(as_text=True)


def test_other_org_cannot_reach_a_project_its_milestones_or_files(world):
    app, ids = world["app"], world["ids"]
    project, file_url = ids["project"], f"/projects/files/{ids['deliverable_file']}"
    base = f"/projects/{project}"
    pending = f"{base}/milestones/{ids['milestone_pending']}"
    submitted = f"{base}/milestones/{ids['milestone_submitted']}"
    plan = f"/projects/{ids['project_plan']}"
    planned = f"{plan}/milestones/{ids['milestone_plan']}"
    milestone = {**T.MILESTONE_FORM, "due_on": ids["future_date"]}
    posts = [
        (f"{pending}/deliver", {"note": "乙冒交的成果"}),
        (f"{submitted}/accept", {"confirm": "y"}),
        (f"{submitted}/return", {"comment": "乙退回"}),
        (
            f"{base}/acceptances",
            {"kind": "midterm", "scheduled_on": ids["future_date"]},
        ),
        (f"{plan}/milestones/new", milestone),
        (f"{planned}/edit", milestone),
        (f"{planned}/delete", {}),
        (f"/projects/{ids['project_begin']}/begin", {"confirm": "y"}),
        (f"/projects/{ids['project_begin']}/agree", {"confirm": "y"}),
        (f"/projects/{ids['project_relist']}/relist", {"confirm": "y"}),
    ]
    outsiders = ("ent_b", "inst_b", "uni_b", "agency_b", "uni_a", "expert", "anon")
    clients = {
        r: client_for(world, r) for r in (*outsiders, "ent_a", "inst_a", "bureau")
    }
    before = snapshot(app)
    for role in outsiders:
        client = clients[role]
        for url in (base, f"{pending}/deliver", f"{planned}/edit", file_url):
            response = client.get(url)
            assert verdict(response, role, url) == "denied", (role, url)
            assert b"MATRIX-FILE" not in response.get_data(), (role, url)
        for url, data in posts:
            response = client.post(url, data=data)
            assert verdict(response, role, url) == "denied", (role, url)
        start = f"/projects/start/{ids['challenge_awarded']}"
        data = {"contract": str(ids["contract_start"])}
        assert verdict(client.post(start, data=data), role, start) == "denied", role
        if role != "anon":
            assert D.PROJECT_MARK not in page_of(client, "/projects/"), role
            challenge = page_of(client, f"/challenges/{ids['challenge_project']}")
            assert f'href="{base}"' not in challenge, role
    # The parties may not do each other's part, nor may the bureau do theirs.
    for role, url, data in (
        ("inst_a", f"{submitted}/accept", {"confirm": "y"}),
        ("inst_a", f"{submitted}/return", {"comment": "自己退回"}),
        ("inst_a", f"{plan}/milestones/new", milestone),
        ("inst_a", f"/projects/{ids['project_begin']}/begin", {"confirm": "y"}),
        ("inst_a", f"{base}/acceptances", {"kind": "midterm", "scheduled_on": "x"}),
        ("ent_a", f"{pending}/deliver", {"note": "发榜方代交"}),
        ("ent_a", f"{base}/acceptances", {"kind": "midterm", "scheduled_on": "x"}),
        ("bureau", f"{submitted}/accept", {"confirm": "y"}),
        ("ent_a", f"/projects/{ids['project_begin']}/agree", {"confirm": "y"}),
        ("bureau", f"/projects/{ids['project_begin']}/agree", {"confirm": "y"}),
        ("bureau", f"{pending}/deliver", {"note": "科技局代交"}),
    ):
        expect(clients[role].post(url, data=data), {403}, (role, url))
    assert snapshot(app) == before
    # The parties and the bureau read the project and download its file.
    for role in ("ent_a", "inst_a", "bureau"):
        assert D.DELIVERABLE_MARK in page_of(clients[role], base), role
        download = expect(clients[role].get(file_url), {200}, (role, file_url))
        assert download.get_data() == D.FILE_BYTES
        assert download.headers["Content-Disposition"].startswith("attachment")


def test_panel_is_hidden_from_bidders_and_scores_until_all_submitted(world):
    app, ids = world["app"], world["ids"]
    panel = ids["panel"]
    url = f"/panels/{panel}"
    attachment = f"{url}/attachments/{ids['attachment']}"
    sheet = post_data("/panels/<int:panel_id>/score", ids)
    marks = (D.SCORE_MARK, D.OPINION_MARK)
    roles = ("inst_a", "uni_a", "ent_b", "inst_b", "expert_out", "anon")
    clients = {r: client_for(world, r) for r in (*roles, "ent_a", "bureau", "expert")}
    before = snapshot(app)
    # Bidders, their consortium, other organisations and other experts: nothing.
    for role in roles:
        client = clients[role]
        for path in (url, f"{url}/score", attachment):
            response = client.get(path)
            assert verdict(response, role, path) == "denied", (role, path)
            assert b"MATRIX-ATTACH" not in response.get_data()
        response = client.post(f"{url}/score", data=sheet)
        assert verdict(response, role, url) == "denied", role
    for role in ("inst_a", "uni_a"):
        listing = page_of(clients[role], f"/challenges/{ids['challenge']}")
        assert url not in listing and "评审专家组" not in listing, role
    assert url not in page_of(clients["expert_out"], "/panels/mine")
    # Before everyone has submitted, nobody sees expert2's sheet: not the other
    # members, not the owner, not the bureau.
    for role, path in (
        ("expert", url),
        ("expert", f"{url}/score"),
        ("ent_a", url),
        ("bureau", url),
        ("ent_a", f"/challenges/{ids['challenge']}"),
    ):
        page = page_of(clients[role], path)
        assert not any(mark in page for mark in marks), (role, path)
        assert RANKING not in page, (role, path)
    # Only members score; the owner and the bureau follow the panel.
    for role in ("ent_a", "bureau"):
        expect(clients[role].post(f"{url}/score", data=sheet), {403}, role)
        expect(clients[role].get(attachment), {404}, role)
    # A check's opinions advise the bureau: hidden from its other members too.
    review = f"/panels/{ids['panel_review']}"
    expect(clients["inst_a"].get(review), {404}, "winner on a check panel")
    for role in ("expert", "ent_a", "bureau"):
        assert D.OPINION_MARK not in page_of(clients[role], review), role
    assert snapshot(app) == before
    # The expert submits and still sees only their own sheet ...
    expect(clients["expert"].post(f"{url}/score", data=sheet), {302}, "score")
    page = page_of(clients["expert"], url)
    assert "方案一般" in page and not any(mark in page for mark in marks)
    # ... until the last member submits: then members and the owner see it all.
    last = client_for(world, "expert3")
    expect(last.post(f"{url}/score", data=sheet), {302}, "last sheet")
    with app.app_context():
        assert _db.session.get(ReviewPanel, panel).status == PanelStatus.COMPLETED
    for role in ("expert", "ent_a", "bureau"):
        page = page_of(clients[role], url)
        assert RANKING in page and all(mark in page for mark in marks), role
    for role in ("inst_a", "uni_a", "ent_b"):
        expect(clients[role].get(url), {404}, role)
        listing = page_of(clients[role], f"/challenges/{ids['challenge']}")
        assert "排名第一" not in listing and D.SCORE_MARK not in listing, role
    assert "排名第一" in page_of(clients["ent_a"], f"/challenges/{ids['challenge']}")


def test_exemption_is_the_winners_to_ask_and_the_bureaus_to_decide(world):
    app, ids = world["app"], world["ids"]
    apply_url = f"/projects/{ids['project_failed']}/exemption"
    decide_url = f"/projects/{ids['project_exempt']}/exemption/decide"
    check = f"/projects/{ids['project_check']}/acceptances/{ids['acceptance']}"
    application = {"account": D.ACCOUNT}
    decision = {"decision": "granted", "reason": "勤勉尽责", "confirm": "y"}
    conclusion = {"conclusion": "passed", "report": "通过", "confirm": "y"}
    # expert2 sat on the exemption panel: that shows them no project.
    outsiders = ("ent_b", "inst_b", "uni_a", "expert", "expert2")
    clients = {
        r: client_for(world, r) for r in (*outsiders, "ent_a", "inst_a", "bureau")
    }
    before = snapshot(app)
    for role in outsiders:
        client = clients[role]
        for url in (apply_url, decide_url, f"{check}/conclude"):
            expect(client.get(url), {404}, (role, url))
        page = client.get(f"/projects/{ids['project_exempt']}").get_data(as_text=True)
        assert "勤勉尽责" not in page, role
        expect(client.post(apply_url, data=application), {404}, (role, "apply"))
        expect(client.post(decide_url, data=decision), {404}, (role, "decide"))
        expect(client.post(f"{check}/conclude", data=conclusion), {404}, role)
    # The owner may not apply for the winner; neither party decides or concludes.
    expect(clients["ent_a"].post(apply_url, data=application), {403}, "owner")
    expect(clients["bureau"].post(apply_url, data=application), {403}, "bureau")
    for role in ("ent_a", "inst_a"):
        client = clients[role]
        expect(client.post(decide_url, data=decision), {403}, (role, "decide"))
        expect(client.post(f"{check}/conclude", data=conclusion), {403}, role)
    assert snapshot(app) == before
    # The bureau decides; then the owner (and only the owner) may re-list.
    expect(clients["bureau"].post(decide_url, data=decision), {302}, "decide")
    relist = f"/projects/{ids['project_exempt']}/relist"
    ticked = {"confirm": "y"}
    expect(clients["inst_a"].post(relist, data=ticked), {403}, "winner relists")
    expect(clients["ent_b"].post(relist, data=ticked), {404}, "other org relists")
    with app.app_context():
        item = _db.session.get(Exemption, ids["exemption"])
        assert item.status == ExemptionStatus.GRANTED
    expect(clients["ent_a"].post(relist, data=ticked), {302}, "owner relists")


def test_integrity_records_stay_with_their_party(world):
    app, ids = world["app"], world["ids"]
    org_record, person_record = ids["integrity"], ids["integrity_person"]
    roles = ("ent_b", "inst_a", "uni_a", "expert", "ent_a_admin", "ent_a")
    clients = {r: client_for(world, r) for r in roles}
    before = snapshot(app)
    # Another organisation sees neither record, by id, in its list or on A's page.
    for role in roles[:4]:
        client = clients[role]
        for record in (org_record, person_record):
            expect(client.get(f"/integrity/{record}"), {404}, (role, record))
            url = f"/integrity/{record}/revoke"
            expect(client.post(url, data={"reason": "乙撤销"}), {404}, (role, url))
        for url in ("/integrity/mine", f"/orgs/{ids['org:ent_a']}"):
            page = page_of(client, url)
            assert D.ORG_RECORD_MARK not in page, (role, url)
            assert D.PERSON_RECORD_MARK not in page, (role, url)
    # A colleague sees the organisation's record, not the person's.
    admin = clients["ent_a_admin"]
    expect(admin.get(f"/integrity/{person_record}"), {404}, "colleague")
    page = page_of(admin, "/integrity/mine")
    assert D.ORG_RECORD_MARK in page and D.PERSON_RECORD_MARK not in page
    assert D.ORG_RECORD_MARK in page_of(admin, f"/integrity/{org_record}")
    # The party reads its records but may not revoke them.
    owner = clients["ent_a"]
    page = page_of(owner, "/integrity/mine")
    assert D.ORG_RECORD_MARK in page and D.PERSON_RECORD_MARK in page
    assert D.PERSON_RECORD_MARK in page_of(owner, f"/integrity/{person_record}")
    for record in (org_record, person_record):
        url = f"/integrity/{record}/revoke"
        expect(owner.post(url, data={"reason": "自行撤销"}), {403}, url)
    # Nor may anyone but the bureau record or manage the expert pool.
    expert = clients["expert"]
    data = post_data("/integrity/new", ids)
    expect(owner.post("/integrity/new", data=data), {403}, "record")
    own = f"/experts/{ids['expert_profile']}/edit"
    expect(expert.get(own), {403}, "own profile")
    edit = {"title": "院士", "fields": "environment", "specialities": "自封"}
    expect(expert.post(own, data=edit), {403}, "own profile")
    assert snapshot(app) == before
