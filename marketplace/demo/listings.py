"""Demo challenges posted by the demo enterprises, loaded through the importer."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.listings import importing
from marketplace.models import Challenge, Organisation
from marketplace.reference import DATA_DIR

DEMO_CHALLENGES = DATA_DIR / "demo_challenges.json"


def seed_challenges(orgs: dict[str, Organisation], creators: dict[int, int]) -> int:
    """Post the demo challenges that are not there yet; returns how many were added."""
    records = json.loads(DEMO_CHALLENGES.read_text(encoding="utf-8"))
    existing = {
        (org_id, external_id)
        for org_id, external_id in db.session.execute(
            select(Challenge.org_id, Challenge.external_id)
        )
    }
    by_org: dict[int, list[importing.RawRow]] = {}
    for line, record in enumerate(records, start=1):
        org = orgs[record["org"]]
        if (org.id, record["external_id"]) in existing:
            continue
        data = {
            "external_id": record["external_id"],
            "title": record["title"],
            "description": record["description"],
            "keywords": record["keywords"],
            "field": record["field"],
            "price_wan": record["price_wan"] or None,
            "deadline": (local_today() + timedelta(days=record["days"])).isoformat(),
        }
        extra = {"created_by_id": creators.get(org.id)}
        by_org.setdefault(org.id, []).append(importing.RawRow(line, data, extra))
    added = 0
    for org_id, rows in by_org.items():
        org = next(o for o in orgs.values() if o.id == org_id)
        added += importing.import_rows(
            org, "challenge", rows, source=DEMO_CHALLENGES.name
        ).added
    return added
