"""Every gunicorn worker serves the truth after each kind of change (issue 12).

Four workers are warmed (searchers, array caches, facet counts, cached pages),
then a listing is edited, an expired result renewed, a challenge withdrawn over
HTTP, another awarded, and an organisation moves county. After each change the
search page is asked 60 times, plain and filtered by status and by county, plus
the JSON API and every worker's /healthz/search: answers that arrive more than a
second after the commit must all be right. `search verify --url` then finds the
server clean.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests

from tests.http_users import HttpUser, make_people, server_app, skip_other_pass

DATABASES = ["sqlite", "postgres"]
GRACE = 1.0  # seconds after a commit in which a stale answer is forgiven
ASKS = 60
TOTAL = re.compile(r"找到 (\d+) 条结果")
HIT = re.compile(r'href="/(challenge|result)s/(\d+)" class="fw-semibold"')
FACET = re.compile(r'>([^<>]+)</a>\s*<span class="text-muted">\((\d+)\)</span>')


class Truth:
    """What the database says the index should answer, from the server's app."""

    def __init__(self, server):
        self.app = server_app(server)
        # This process commits as another node process would, syncing the index.
        self.app.config["SEARCH_SYNC_ON_COMMIT"] = True

    def expected(self) -> dict:
        from marketplace.extensions import db
        from marketplace.listings.states import STATUS_LABELS
        from marketplace.models import Region
        from marketplace.search.documents import build_schema
        from marketplace.search.index import digest, expected_documents, stored_names

        with self.app.app_context():
            docs = expected_documents(db.session)
            regions = {r.code: r.name for r in db.session.query(Region)}
            found = digest(docs.values(), stored_names(build_schema()))
            db.session.remove()
        return {
            "docs": docs,
            "digest": found,
            "status": {d["key"]: STATUS_LABELS[d["status"]] for d in docs.values()},
            "region": {d["key"]: regions[d["region"]] for d in docs.values()},
            "codes": {d["key"]: (d["status"], d["region"]) for d in docs.values()},
        }

    def reindex(self) -> None:
        """Build the server's index (as `flask search reindex` would)."""
        from marketplace.extensions import db
        from marketplace.search.sync import get_index

        with self.app.app_context():
            get_index().reindex(db.session)
            db.session.remove()

    def change(self, model_name: str, object_id: int, **values) -> float:
        """Commit a change through the ORM; returns when it committed."""
        from marketplace import models
        from marketplace.extensions import db

        with self.app.app_context():
            row = db.session.get(getattr(models, model_name), object_id)
            for name, value in values.items():
                setattr(row, name, value)
            db.session.commit()
            db.session.remove()
        return time.monotonic()


def section(page: str, title: str) -> dict[str, int]:
    start = page.find(f">{title}</h2>")
    if start < 0:
        return {}
    block = page[start : page.find("</ul>", start)]
    return {label.strip(): int(count) for label, count in FACET.findall(block)}


def check_page(page: str, want: dict, keys: list[str]) -> list[str]:
    """What is wrong with a search page that should list exactly `keys`."""
    problems = []
    hits = [f"{kind}:{number}" for kind, number in HIT.findall(page)]
    total = TOTAL.search(page)
    if not total or int(total.group(1)) != len(keys):
        problems.append(f"total {total and total.group(1)} != {len(keys)}")
    if sorted(hits) != sorted(keys):
        problems.append(f"hits {sorted(hits)} != {sorted(keys)}")
    for name, title in (("status", "状态"), ("region", "所在县区")):
        expected = dict(Counter(want[name][k] for k in keys))
        shown = section(page, title)
        if shown != expected:
            problems.append(f"{title} {shown} != {expected}")
    return problems


def ask_everything(server, want: dict, committed: float) -> list[str]:
    """ASKS answers from the workers; the wrong ones that came after the grace."""
    keys = sorted(want["docs"])
    first = keys[0]
    status, region = want["codes"][first]
    variants = [
        ("/search?q=芝麻", keys),
        (
            f"/search?q=芝麻&status={status}",
            [k for k in keys if want["codes"][k][0] == status],
        ),
        (
            f"/search?q=芝麻&region={region}",
            [k for k in keys if want["codes"][k][1] == region],
        ),
    ]
    late = []
    for n in range(ASKS):
        path, expected = variants[n % len(variants)]
        reply = requests.get(server.url(path), timeout=30)
        arrived = time.monotonic()
        problems = [f"{reply.status_code}"] if reply.status_code != 200 else []
        problems += check_page(reply.text, want, expected)
        if n % 5 == 0:
            api = requests.get(server.url("/api/v1/search?q=芝麻&limit=50"), timeout=30)
            items = [f"{i['kind']}:{i['id']}" for i in api.json()["items"]]
            if sorted(items) != keys:
                problems.append(f"api {items}")
            health = requests.get(server.url("/healthz/search"), timeout=30).json()
            if health.get("digest") != want["digest"]:
                problems.append(f"worker {health.get('pid')} serves {health}")
        if problems and arrived - committed > GRACE:
            late.append(f"{path}: {'; '.join(problems)}")
    return late


def seed(server) -> dict:
    from marketplace.clock import local_today
    from marketplace.extensions import db
    from marketplace.models import ResultStatus
    from tests.factories import make_challenge, make_result

    app = server_app(server)
    with app.app_context():
        people = make_people(app, {"firm": ("enterprise", 1), "lab": ("institute", 1)})
        firm, lab = people["firm"]["org_id"], people["lab"]["org_id"]
        ids = {
            "kept": make_challenge(firm, title="芝麻油压榨废水处理需求").id,
            "awarded": make_challenge(firm, title="芝麻酱防分层技术需求").id,
            "withdrawn": make_challenge(firm, title="芝麻烘焙设备节能需求").id,
            "edited": make_result(lab, title="芝麻素提取纯化技术").id,
            "renewed": make_result(
                lab,
                title="芝麻黑色素提取技术",
                status=ResultStatus.EXPIRED,
                valid_until=local_today() - timedelta(days=3),
            ).id,
            "other": make_result(lab, title="芝麻品种抗病选育成果").id,
        }
        db.session.remove()
    people["ids"] = ids
    return people


@pytest.mark.parametrize("database", DATABASES)
def test_every_worker_answers_the_new_state_within_a_second(live_server, database):
    """Edit, renew, withdraw, award, move county: 60 right answers after each."""
    skip_other_pass(database)
    from marketplace.clock import local_today
    from marketplace.models import ChallengeStatus, ResultStatus

    server = live_server(workers=4, database=database)
    people = seed(server)
    ids = people["ids"]
    truth = Truth(server)
    truth.reindex()
    want = truth.expected()
    assert ask_everything(server, want, time.monotonic() - GRACE - 1) == []  # warm
    owner = HttpUser(server.base_url, people["firm"]["emails"][0]).login()

    def withdraw() -> float:
        challenge = f"/challenges/{ids['withdrawn']}"
        form = {"note": "", "confirm": "y"}
        outcome = owner.submit(f"{challenge}/withdraw", form, form=challenge)
        assert outcome.ok, outcome
        return time.monotonic()

    steps = {
        "edit": lambda: truth.change(
            "Result", ids["edited"], title="芝麻素低温提取纯化技术"
        ),
        "renew": lambda: truth.change(
            "Result",
            ids["renewed"],
            status=ResultStatus.PUBLISHED,
            valid_until=local_today() + timedelta(days=180),
        ),
        "withdraw": withdraw,
        "award": lambda: truth.change(
            "Challenge", ids["awarded"], status=ChallengeStatus.AWARDED
        ),
        "region": lambda: truth.change(
            "Organisation", people["lab"]["org_id"], region_code="411721"
        ),
    }
    wrong = {}
    for name, step in steps.items():
        committed = step()
        want = truth.expected()
        late = ask_everything(server, want, committed)
        if late:
            wrong[name] = [*late[:3], f"… {len(late)} wrong answers"]
    assert wrong == {}
    assert "低温提取" in requests.get(server.url("/search?q=芝麻"), timeout=30).text
    verified = server.flask(
        "search", "verify", "--url", server.base_url, "--calls", "80", check=False
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "均与数据库一致" in verified.stdout
    pids = set(re.findall(r"进程 (\d+)", verified.stdout))
    assert pids == {str(pid) for pid in server.worker_pids()}, verified.stdout
