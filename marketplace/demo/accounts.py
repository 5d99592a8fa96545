"""Demo organisations and logins for `flask seed-demo`, created if missing."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select

from marketplace.auth.services import create_organisation, create_user
from marketplace.creditcode import make_credit_code
from marketplace.extensions import db
from marketplace.models import (
    Organisation,
    OrgCertification,
    OrgKind,
    User,
    UserRole,
)

if TYPE_CHECKING:
    from marketplace.demo import SeedReport

DEMO_PASSWORD = "Demo@Zmd2026"  # noqa: S105 - printed for the demo on purpose
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

GRANTED_ON = date(2024, 12, 1)


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
