"""Demo data for `flask seed-demo`: organisations, logins and the CSL results.

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
from datetime import date
from pathlib import Path
from typing import NamedTuple

import click
from sqlalchemy import select

from marketplace import audit
from marketplace.auth.services import create_organisation, create_user
from marketplace.creditcode import make_credit_code
from marketplace.demo_deals import seed_deals
from marketplace.demo_delivery import seed_delivery
from marketplace.demo_funnel import seed_funnel
from marketplace.demo_listings import seed_challenges
from marketplace.demo_terms import draw_terms
from marketplace.demo_trades import DISCIPLINES, TECHNOLOGY
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.listings import importing
from marketplace.listings.importing import RawRow
from marketplace.models import (
    Organisation,
    OrgCertification,
    OrgKind,
    Region,
    Result,
    User,
    UserRole,
    utcnow,
)
from marketplace.money import fen_to_wan_str
from marketplace.reference import DATA_DIR, load_reference_data

CSL_FILE = DATA_DIR / "csl" / "csl_2k.jsonl"
DEMO_PASSWORD = "Demo@Zmd2026"  # noqa: S105 - printed for the demo on purpose
SEED = 20260101
BUREAU_NAME = "驻马店市科学技术局"
CITY_CODE = "411700"

OUTSIDE_CODE_PREFIX = "410100"  # 郑州市: where the 市外 institute is registered
# GB 32100 registration authority and type: government body, public institution,
# company.
REGISTRATION = {OrgKind.BUREAU: "11", OrgKind.UNIVERSITY: "12", OrgKind.INSTITUTE: "12"}


class DemoOrg(NamedTuple):
    """One demo organisation."""

    name: str
    kind: OrgKind
    region: str
    tags: tuple[str, ...] = ()
    verified: bool = True

    @property
    def code_prefix(self) -> str:
        """Six-digit area code for the credit code (zones and 市外 have none)."""
        if self.region == "000000":
            return OUTSIDE_CODE_PREFIX
        return self.region if self.region.isdigit() else CITY_CODE


_E, _U, _I, _A = (
    OrgKind.ENTERPRISE,
    OrgKind.UNIVERSITY,
    OrgKind.INSTITUTE,
    OrgKind.AGENCY,
)
ORGS: tuple[DemoOrg, ...] = (
    DemoOrg(BUREAU_NAME, OrgKind.BUREAU, "411702"),
    # Enterprises; the first one gets the enterprise demo logins.
    DemoOrg(
        "西平县嫘祖食品科技有限公司", _E, "411721", ("高新技术企业", "创新龙头企业")
    ),
    DemoOrg(
        "驻马店恒拓新材料科技有限公司", _E, "4117Z2", ("高新技术企业", "专精特新企业")
    ),
    DemoOrg("上蔡县沃丰农业机械有限公司", _E, "411722", ("科技型中小企业",)),
    DemoOrg("驻马店康嘉药业有限公司", _E, "4117Z3", ("高新技术企业", "科技型中小企业")),
    DemoOrg("泌阳县盘古牧业科技有限公司", _E, "411726", ("科技型中小企业",)),
    DemoOrg("确山县琴韵乐器制造有限公司", _E, "411725", ("专精特新企业",)),
    DemoOrg(
        "正阳县丰润花生制品有限公司", _E, "411724", ("科技型中小企业", "创新龙头企业")
    ),
    # Still waiting in the bureau's verification queue.
    DemoOrg("汝南县智农电子科技有限公司", _E, "411727", verified=False),
    # Universities and institutes: the owners of the results.
    DemoOrg("黄淮学院", _U, "411702", ("重点实验室",)),
    DemoOrg("驻马店职业技术学院", _U, "411702"),
    DemoOrg("驻马店市农业科学院", _I, "411702", ("工程技术研究中心",)),
    DemoOrg("驻马店天中产业技术研究院", _I, "4117Z3", ("新型研发机构",)),
    DemoOrg("河南省豫科应用技术研究院", _I, "000000"),
    # Technology transfer agencies.
    DemoOrg("驻马店天中技术转移服务中心有限公司", _A, "411702", ("技术转移示范机构",)),
    DemoOrg("驻马店汇智科技成果转化服务有限公司", _A, "4117Z1"),
)
FIRST_ENTERPRISE = ORGS[1].name
FIRST_AGENCY = "驻马店天中技术转移服务中心有限公司"
UNIVERSITY = "黄淮学院"
VOCATIONAL = "驻马店职业技术学院"
AGRI_ACADEMY = "驻马店市农业科学院"
RESEARCH_INSTITUTE = "驻马店天中产业技术研究院"
OUTSIDE_INSTITUTE = "河南省豫科应用技术研究院"
RESULT_OWNERS = (
    UNIVERSITY,
    VOCATIONAL,
    AGRI_ACADEMY,
    RESEARCH_INSTITUTE,
    OUTSIDE_INSTITUTE,
)


class DemoLogin(NamedTuple):
    """One demo user; the e-mail is `<local>@demo.zmd.cn`."""

    label: str
    local: str
    org: str
    role: UserRole = UserRole.MEMBER
    sysadmin: bool = False

    @property
    def email(self) -> str:
        """The login e-mail."""
        return f"{self.local}@{DEMO_DOMAIN}"


DEMO_DOMAIN = "demo.zmd.cn"
_ADMIN = UserRole.ORG_ADMIN
USERS: tuple[DemoLogin, ...] = (
    DemoLogin("科技局工作人员", "bureau", BUREAU_NAME),
    DemoLogin("系统管理员", "admin", BUREAU_NAME, sysadmin=True),
    DemoLogin("企业管理员", "enterprise-admin", FIRST_ENTERPRISE, _ADMIN),
    DemoLogin("企业成员", "enterprise", FIRST_ENTERPRISE),
    DemoLogin("高校管理员", "university", UNIVERSITY, _ADMIN),
    DemoLogin("科研院所管理员", "institute", AGRI_ACADEMY, _ADMIN),
    DemoLogin("技术转移机构管理员", "agency", FIRST_AGENCY, _ADMIN),
)

# The technology field code (tech_fields.json) of each of the 67 CSL disciplines,
# from the reference file data/csl_disciplines.json.
FIELD_DISCIPLINES: dict[str, tuple[str, ...]] = {
    code: tuple(d.name for d in DISCIPLINES.values() if d.field == code)
    for code in dict.fromkeys(d.field for d in DISCIPLINES.values())
}
DISCIPLINE_FIELDS: dict[str, str] = {
    discipline: code
    for code, disciplines in FIELD_DISCIPLINES.items()
    for discipline in disciplines
}
# For a discipline the table does not know (a replaced data file).
CATEGORY_FIELDS: dict[str, str] = {
    "工学": "advanced_manufacturing",
    "医学": "biomedicine",
    "农学": "agriculture",
    "理学": "new_materials",
}
DEFAULT_FIELD = "urban_social"

GRANTED_ON = date(2024, 12, 1)


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


def field_code_for(record: dict) -> str:
    """The technology field code of a CSL record: discipline, then category."""
    return DISCIPLINE_FIELDS.get(record.get("discipline", "")) or CATEGORY_FIELDS.get(
        record.get("category", ""), DEFAULT_FIELD
    )


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


def _ensure_org(spec: DemoOrg, serial: int, report: SeedReport) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.name == spec.name))
    if org is None:
        org = create_organisation(
            name=spec.name,
            kind=spec.kind,
            region_code=spec.region,
            credit_code=make_credit_code(
                spec.code_prefix,
                900_000_000 + serial,
                REGISTRATION.get(spec.kind, "91"),
            ),
            verified=spec.verified,
        )
        report.orgs_added.append(spec.name)
    have = {c.tag for c in org.certifications}
    for tag in spec.tags:
        if tag not in have:
            org.certifications.append(OrgCertification(tag=tag, granted_on=GRANTED_ON))
    return org


def _ensure_user(
    spec: DemoLogin, orgs: dict[str, Organisation], report: SeedReport
) -> User:
    user = db.session.scalar(select(User).where(User.email == spec.email))
    if user is None:
        user = create_user(
            org=orgs[spec.org],
            email=spec.email,
            password=DEMO_PASSWORD,
            name=f"{spec.label}（演示）",
            role=spec.role,
            is_sysadmin=spec.sysadmin,
        )
        report.users_added.append(spec.email)
    report.logins.append((spec.label, spec.email, DEMO_PASSWORD))
    return user


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
    today = now.date()
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
            f"orgs+{len(report.orgs_added)} users+{len(report.users_added)} "
            f"results+{report.results_added} challenges+{report.challenges_added} "
            f"deals+{report.deals_added} contracts+{report.contracts_added} "
            f"payments+{report.payments_added} targets+{report.targets_added} "
            f"bids+{report.bids_added} applications+{report.applications_added} "
            f"delivery+{report.delivery_added}"
        ),
    )
    return report
