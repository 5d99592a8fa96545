"""Bulk import of technology contracts from .csv or .xlsx, all or nothing."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select

from marketplace import audit, identifiers
from marketplace.clock import utcnow
from marketplace.contracts import services
from marketplace.creditcode import normalise
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.file_checks import UPLOAD_IMPORT, SheetLimits
from marketplace.listings.import_files import (
    ImportRefused,
    ParsedFile,
    RawRow,
    cell_text,
    parse_table,
)
from marketplace.models import (
    CONTRACT_TYPE_LABELS,
    ContractStatus,
    Organisation,
    OrgKind,
    Region,
    TechField,
)
from marketplace.money import MoneyError, parse_wan

COLUMNS = (
    "contract_type",
    "buyer",
    "buyer_region",
    "seller",
    "seller_region",
    "broker",
    "field",
    "signed_on",
    "amount_wan",
    "tech_amount_wan",
    "registration_no",
)
REQUIRED = ("contract_type", "buyer", "seller", "signed_on", "amount_wan")
ALIASES = {
    "合同类型": "contract_type",
    "买方": "buyer",
    "买方所在县区": "buyer_region",
    "卖方": "seller",
    "卖方所在县区": "seller_region",
    "技术转移机构": "broker",
    "中介机构": "broker",
    "技术领域": "field",
    "签订日期": "signed_on",
    "合同成交额": "amount_wan",
    "技术交易额": "tech_amount_wan",
    "登记号": "registration_no",
}
TYPES = {label: kind.value for kind, label in CONTRACT_TYPE_LABELS.items()}
TYPES.update({kind.value: kind.value for kind in CONTRACT_TYPE_LABELS})


@dataclass
class ImportReport:
    """What an import added."""

    added: int = 0
    registered: int = 0


def _column(name: Any) -> str:
    key = str(name or "").strip().lstrip("\ufeff").strip()
    return ALIASES.get(key, key.lower())


def parse_file(
    data: bytes, filename: str, limits: SheetLimits = UPLOAD_IMPORT
) -> ParsedFile:
    """Read a .csv or .xlsx contract file into numbered rows."""
    return parse_table(
        data, filename, limits, columns=COLUMNS, column=_column, required=REQUIRED
    )


def _wan(value: Any, label: str) -> int:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ServiceError(f"{label}不是有效数字")
        value = repr(value)  # the shortest text that reads back as this float
    try:
        return parse_wan(cell_text(value))
    except MoneyError as exc:
        raise ServiceError(f"{label}：{exc}") from exc


def _registration_no(value: Any) -> str:
    """The cell's number normalised; refused when Excel held it as a number."""
    if isinstance(value, int | float) and abs(value) >= 10**15:
        # Excel keeps 15 significant digits: a 16-digit number lost its last one.
        raise ServiceError("登记号超过 15 位，请把该列设为文本格式后重新填写")
    return identifiers.registration_no(cell_text(value))


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(cell_text(value))
    except ValueError as exc:
        raise ServiceError("签订日期应为 YYYY-MM-DD 格式") from exc


class _Lookup:
    """Organisations, regions and fields by name or code, cached for the file."""

    def __init__(self) -> None:
        self.regions = {}
        for region in db.session.scalars(select(Region)):
            self.regions[region.code] = self.regions[region.name] = region.code
        self.fields = {}
        for field in db.session.scalars(select(TechField)):
            self.fields[field.code] = self.fields[field.name] = field.id
        self.orgs: dict[str, Organisation | None] = {}

    def org(self, value: str) -> Organisation | None:
        if value not in self.orgs:
            code = normalise(value)
            self.orgs[value] = db.session.scalar(
                select(Organisation).where(
                    Organisation.kind != OrgKind.BUREAU,
                    or_(Organisation.name == value, Organisation.credit_code == code),
                )
            )
        return self.orgs[value]

    def party(self, row: dict, side: str, label: str) -> services.Party:
        name = cell_text(row.get(side))
        if not name:
            raise ServiceError(f"缺少{label}")
        org = self.org(name)
        if org is not None:
            return services.Party(org_id=org.id)
        region = cell_text(row.get(f"{side}_region"))
        if region not in self.regions:
            raise ServiceError(
                f"{label}「{name}」不是平台上的机构，需要填写有效的 {side}_region"
            )
        return services.Party(name=name, region_code=self.regions[region])


def _row_data(row: dict, lookup: _Lookup) -> dict[str, Any]:
    kind = TYPES.get(cell_text(row.get("contract_type")).lower()) or TYPES.get(
        cell_text(row.get("contract_type"))
    )
    if kind is None:
        raise ServiceError(f"合同类型无效：{cell_text(row.get('contract_type'))}")
    broker_id = None
    if cell_text(row.get("broker")):
        broker = lookup.org(cell_text(row.get("broker")))
        if broker is None or broker.kind != OrgKind.AGENCY:
            raise ServiceError(f"技术转移机构不存在：{cell_text(row.get('broker'))}")
        broker_id = broker.id
    field_id = None
    if cell_text(row.get("field")):
        field_id = lookup.fields.get(cell_text(row.get("field")))
        if field_id is None:
            raise ServiceError(f"技术领域无效：{cell_text(row.get('field'))}")
    amount = _wan(row.get("amount_wan"), "合同成交额")
    tech = row.get("tech_amount_wan")
    return {
        "contract_type": kind,
        "buyer": lookup.party(row, "buyer", "买方"),
        "seller": lookup.party(row, "seller", "卖方"),
        "broker_org_id": broker_id,
        "field_id": field_id,
        "signed_on": _date(row.get("signed_on")),
        "amount_fen": amount,
        "tech_amount_fen": (
            amount if cell_text(tech) == "" else _wan(tech, "技术交易额")
        ),
    }


def import_rows(
    rows: list[RawRow],
    *,
    source: str = "",
    errors: list[tuple[int, str]] | None = None,
    progress: Callable[[int], Any] | None = None,
) -> ImportReport:
    """Check every row, then add them all, or raise ImportRefused with each problem."""
    problems = list(errors or [])
    lookup = _Lookup()
    contracts = []
    numbers: dict[str, int] = {}
    for row in rows:
        try:
            contract = services.build_contract(_row_data(row.data, lookup))
            number = _registration_no(row.data.get("registration_no"))
            if number:
                if number in numbers:
                    raise ServiceError(f"登记号与第 {numbers[number]} 行重复：{number}")
                number = services.check_registration_no(number)
                numbers[number] = row.line
                contract.registration_no = number
                contract.status = ContractStatus.REGISTERED
                contract.registered_at = utcnow()
        except ServiceError as exc:
            problems.append((row.line, exc.message))
            continue
        contracts.append(contract)
    if problems:
        raise ImportRefused([f"第 {n} 行: {m}" for n, m in sorted(problems)])
    report = ImportReport()
    for contract in contracts:
        db.session.add(contract)
        report.added += 1
        report.registered += contract.status == ContractStatus.REGISTERED
        if progress is not None:
            progress(1)
    db.session.flush()
    audit.record(
        "contracts_imported",
        object_type="contracts",
        note=f"{source}: {report.added} 份，其中已登记 {report.registered} 份",
    )
    return report
