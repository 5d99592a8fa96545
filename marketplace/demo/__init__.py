"""Demo data for `flask seed-demo`: organisations, logins and the CSL results.

The organisations and logins are in demo_accounts.

The catalogue is the CSL records of technology disciplines (about 1,365 of the
2,000; data/csl_disciplines.json says which), with terms that fit each paper
(demo_terms).

Then the demo challenges (demo_listings), the deals, registered contracts,
payments and turnover targets behind the bureau's dashboard (demo_deals), the
bids, awards, adoption applications and transfers of its funnels (demo_funnel),
and the experts, panels, projects and integrity record of 揭榜挂帅 delivery
(demo_delivery).
Everything is idempotent (organisations match by name, users by e-mail, results by
owner and `external_id`, the CSL record id) and drawn from a fixed random seed, so
two runs on two machines give the same catalogue. The caller commits.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import click
from sqlalchemy import select

from marketplace import audit
from marketplace.clock import local_today, utcnow
from marketplace.demo.accounts import (
    AGRI_ACADEMY,
    BUREAU_NAME,
    CITY_CODE,
    DEMO_DOMAIN,
    DEMO_PASSWORD,
    FIRST_AGENCY,
    FIRST_ENTERPRISE,
    GRANTED_ON,
    ORGS,
    OUTSIDE_CODE_PREFIX,
    OUTSIDE_INSTITUTE,
    REGISTRATION,
    RESEARCH_INSTITUTE,
    RESULT_OWNERS,
    UNIVERSITY,
    USERS,
    VOCATIONAL,
    DemoLogin,
    DemoOrg,
    _ensure_org,
    _ensure_user,
)
from marketplace.demo.deals import seed_deals
from marketplace.demo.delivery import seed_delivery
from marketplace.demo.funnel import seed_funnel
from marketplace.demo.listings import seed_challenges
from marketplace.demo.terms import draw_terms
from marketplace.demo.trades import DISCIPLINES, TECHNOLOGY
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.listings import importing
from marketplace.listings.importing import RawRow
from marketplace.models import NdaTemplate, Organisation, Region, Result, UserRole
from marketplace.money import fen_to_wan_str
from marketplace.ndas.services import create_template
from marketplace.reference import (
    DATA_DIR,
    discipline_fields,
    field_code_for,
    load_reference_data,
)

CSL_FILE = DATA_DIR / "csl" / "csl_2k.jsonl"
SEED = 20260101

# The demo organisations and logins live in demo_accounts; callers import them here.
__all__ = [
    "AGRI_ACADEMY",
    "BUREAU_NAME",
    "CATEGORY_FIELDS",
    "CITY_CODE",
    "CSL_FILE",
    "DATA_DIR",
    "DEFAULT_FIELD",
    "DEMO_DOMAIN",
    "DEMO_PASSWORD",
    "DISCIPLINE_FIELDS",
    "FIELD_DISCIPLINES",
    "FIRST_AGENCY",
    "FIRST_ENTERPRISE",
    "GRANTED_ON",
    "ORGS",
    "OUTSIDE_CODE_PREFIX",
    "OUTSIDE_INSTITUTE",
    "REGISTRATION",
    "RESEARCH_INSTITUTE",
    "RESULT_OWNERS",
    "SEED",
    "UNIVERSITY",
    "USERS",
    "VOCATIONAL",
    "DemoLogin",
    "DemoOrg",
    "SeedReport",
    "field_code_for",
    "owner_name_for",
    "read_records",
    "seed_demo",
]


# The technology field code (tech_fields.json) of each of the 67 CSL disciplines,
# from the reference file data/csl_disciplines.json.
FIELD_DISCIPLINES: dict[str, tuple[str, ...]] = {
    code: tuple(d.name for d in DISCIPLINES.values() if d.field == code)
    for code in dict.fromkeys(d.field for d in DISCIPLINES.values())
}
# The mapping itself is reference data (data/csl_disciplines.json), shared with bench/.
DISCIPLINE_FIELDS, CATEGORY_FIELDS, DEFAULT_FIELD = discipline_fields()


@dataclass
class SeedReport:
    """What a run found and added."""

    regions: int = 0
    fields: int = 0
    orgs_added: list[str] = field(default_factory=list)
    users_added: list[str] = field(default_factory=list)
    results_added: int = 0
    results_skipped: int = 0
    challenges_added: int = 0
    deals_added: int = 0
    contracts_added: int = 0
    payments_added: int = 0
    targets_added: int = 0
    bids_added: int = 0
    applications_added: int = 0
    delivery_added: int = 0  # experts, panels, projects and integrity records
    logins: list[tuple[str, str, str]] = field(default_factory=list)


def owner_name_for(record: dict, index: int) -> str:
    """Which demo university or institute owns the record at this file position."""
    discipline = record.get("discipline", "")
    if record.get("category") == "农学" or discipline in {"农业工程", "农林经济管理"}:
        return AGRI_ACADEMY
    if record.get("category") == "医学" or discipline == "生物学/生物科学与工程":
        return RESEARCH_INSTITUTE
    return (UNIVERSITY, VOCATIONAL, UNIVERSITY, OUTSIDE_INSTITUTE)[index % 4]


def read_records(
    path: Path = CSL_FILE, limit: int | None = None, technology: bool = False
) -> list[dict]:
    """The CSL records in file order (the first `limit`; of technology only)."""
    records = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if limit is not None and len(records) >= limit:
                break
            if not line.strip():
                continue
            record = json.loads(line)
            if not technology or record.get("discipline") in TECHNOLOGY:
                records.append(record)
    return records


def _result_rows(
    records: list[dict],
    orgs: dict[str, Organisation],
    creators: dict[int, int],
    existing: set[tuple[int, str]],
    report: SeedReport,
) -> dict[int, list[RawRow]]:
    """The importer's rows of the records not loaded yet, by owner organisation."""
    rng = random.Random(SEED)
    now = utcnow().replace(microsecond=0)
    today = local_today(now)
    by_owner: dict[int, list[RawRow]] = {}
    for index, record in enumerate(records):
        terms = draw_terms(rng, record["title"], today, now)
        org = orgs[owner_name_for(record, index)]
        if (org.id, record["id"]) in existing:
            report.results_skipped += 1
            continue
        data = {
            "external_id": record["id"],
            "title": record["title"][:200],
            "description": record.get("abstract", ""),
            "keywords": list(record.get("keywords") or []),
            "discipline": record.get("discipline", "")[:60],
            "field": field_code_for(record),
            "maturity": terms.pop("trl"),
            "price_wan": fen_to_wan_str(terms.pop("price_fen")) or None,
            "valid_until": terms.pop("valid_until"),
        }
        extra = {"created_by_id": creators.get(org.id), **terms}
        by_owner.setdefault(org.id, []).append(RawRow(index + 1, data, extra))
    return by_owner


def _import_results(
    rows: dict[int, list[RawRow]], orgs: dict[str, Organisation]
) -> int:
    """Publish the rows through the importer, one import per owner organisation."""
    added = 0
    total = sum(len(r) for r in rows.values())
    with click.progressbar(length=total, label="导入科技成果") as bar:
        for name in RESULT_OWNERS:
            owner = orgs[name]
            if rows.get(owner.id):
                added += importing.import_rows(
                    owner,
                    "result",
                    rows[owner.id],
                    source=CSL_FILE.name,
                    progress=bar.update,
                ).added
    return added


DEMO_NDA_NAME = "技术需求保密协议（科技局示范文本）"
DEMO_NDA_TEXT = DATA_DIR / "demo_nda.txt"


def _ensure_nda_template(bureau: Organisation, users: list) -> None:
    """The bureau's model NDA, which owners pick on a listing's 保密协议 page."""
    if db.session.scalar(select(NdaTemplate.id).limit(1)) is not None:
        return
    staff = next(u for u in users if u.org_id == bureau.id)
    text = DEMO_NDA_TEXT.read_text(encoding="utf-8").strip()
    create_template(staff, DEMO_NDA_NAME, text)


def seed_demo(limit: int | None = None) -> SeedReport:
    """Add whatever demo data is missing; the caller commits."""
    report = SeedReport()
    report.regions, report.fields = load_reference_data()
    db.session.flush()
    known = set(db.session.scalars(select(Region.code)))
    missing = sorted({spec.region for spec in ORGS} - known)
    if missing:
        raise ServiceError(f"参考数据中缺少演示机构所在县区：{'、'.join(missing)}")

    orgs = {
        spec.name: _ensure_org(spec, serial, report)
        for serial, spec in enumerate(ORGS, start=1)
    }
    users = [_ensure_user(spec, orgs, report) for spec in USERS]
    db.session.flush()
    _ensure_nda_template(orgs[BUREAU_NAME], users)
    # Results registered by the owners' demo administrators where there is one.
    creators = {u.org_id: u.id for u in users if u.role == UserRole.ORG_ADMIN}

    owner_ids = [orgs[name].id for name in RESULT_OWNERS]
    existing = {
        (org_id, external_id)
        for org_id, external_id in db.session.execute(
            select(Result.org_id, Result.external_id).where(
                Result.org_id.in_(owner_ids), Result.external_id.is_not(None)
            )
        )
    }
    # Only records of technology disciplines: no philosophy or sports on sale.
    records = read_records(limit=limit, technology=True)
    rows = _result_rows(records, orgs, creators, existing, report)
    report.results_added = _import_results(rows, orgs) if rows else 0
    report.challenges_added = seed_challenges(orgs, creators)
    history = seed_deals(orgs, users)
    report.deals_added, report.contracts_added = history.deals, history.contracts
    report.payments_added, report.targets_added = history.payments, history.targets
    # Bids, awards, adoption applications and transfers: both funnels filled.
    funnel = seed_funnel(orgs, users, RESULT_OWNERS)
    report.bids_added, report.applications_added = funnel.bids, funnel.applications
    report.deals_added += funnel.deals
    report.contracts_added += funnel.contracts
    report.payments_added += funnel.payments
    # Experts, panels, two projects under way or closed, an integrity record.
    delivery = seed_delivery(orgs, users, DEMO_PASSWORD, DEMO_DOMAIN)
    report.delivery_added = delivery.added
    report.payments_added += delivery.payments
    report.logins += delivery.logins

    if not (
        report.orgs_added
        or report.users_added
        or report.results_added
        or report.challenges_added
        or report.deals_added
        or report.contracts_added
        or report.targets_added
        or report.bids_added
        or report.applications_added
        or report.delivery_added
    ):
        return report
    audit.record(
        "seed_demo",
        org_id=orgs[BUREAU_NAME].id,
        note=(
            f"新增机构 {len(report.orgs_added)}、用户 {len(report.users_added)}、"
            f"成果 {report.results_added}、需求 {report.challenges_added}、"
            f"撮合项目 {report.deals_added}、合同 {report.contracts_added}、"
            f"收款 {report.payments_added}、目标 {report.targets_added}、"
            f"揭榜申报 {report.bids_added}、转化申请 {report.applications_added}、"
            f"交付记录 {report.delivery_added}"
        ),
    )
    return report
