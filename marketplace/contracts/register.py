"""The contract register's search: its GET form, the filter it yields, the sorts.

One `RegisterFilter` drives the register page, its CSV/XLSX export and the
batch of registration certificates, so every one of them holds the same rows.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, or_, select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from marketplace.clock import local_day_start
from marketplace.extensions import db
from marketplace.forms_common import BaseForm, SafeText, WanField, choices
from marketplace.models import (
    CONTRACT_TYPE_LABELS,
    Contract,
    ContractStatus,
    Organisation,
    TechField,
)
from marketplace.reference import region_options

# Dates outside these years are typing slips; year 1 would also overflow the
# conversion of a local registration date to UTC.
FIRST_YEAR, LAST_YEAR = 1980, 2100
SIDES = {
    "any": "输出或吸纳",
    "output": "输出（卖方所在）",
    "absorption": "吸纳（买方所在）",
}
SORTS = {
    "signed_desc": "签订日期（新到旧）",
    "signed_asc": "签订日期（旧到新）",
    "registered_desc": "登记日期（新到旧）",
    "registered_asc": "登记日期（旧到新）",
    "amount_desc": "合同成交额（高到低）",
    "amount_asc": "合同成交额（低到高）",
}


def _order(sort: str) -> list:
    column, direction = sort.rsplit("_", 1)
    key = {
        "signed": Contract.signed_on,
        "registered": Contract.registered_at,
        "amount": Contract.amount_fen,
    }[column]
    descending = direction == "desc"
    order = key.desc() if descending else key.asc()
    if column == "registered":
        # Unregistered rows last either way, on SQLite and PostgreSQL alike; said
        # as NULLS LAST (not a leading IS NULL) so that an index can give the order.
        order = order.nulls_last()
    return [order, Contract.id.desc() if descending else Contract.id.asc()]


@dataclass(frozen=True)
class RegisterFilter:
    """Which contracts of the register to show, export or certify, and in what order."""

    party: str = ""
    registration_no: str = ""
    county: str = ""
    side: str = "any"
    field_id: int | None = None
    contract_type: str = ""
    status: str = ""
    signed_from: date | None = None
    signed_to: date | None = None
    registered_from: date | None = None
    registered_to: date | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    sort: str = "signed_desc"

    @classmethod
    def registered_between(cls, start: date, end: date) -> RegisterFilter:
        """Registered contracts signed in [start, end], oldest first."""
        return cls(
            status=ContractStatus.REGISTERED,
            signed_from=start,
            signed_to=end,
            sort="signed_asc",
        )

    def conditions(self) -> list[ColumnElement[bool]]:
        """WHERE clauses over Contract for every criterion that is set."""
        where: list[ColumnElement[bool]] = []
        if self.party:
            named = select(Organisation.id).where(
                Organisation.name.icontains(self.party, autoescape=True)
            )
            where.append(
                or_(
                    Contract.buyer_name.icontains(self.party, autoescape=True),
                    Contract.seller_name.icontains(self.party, autoescape=True),
                    Contract.buyer_org_id.in_(named),
                    Contract.seller_org_id.in_(named),
                )
            )
        if self.registration_no:
            where.append(
                Contract.registration_no.contains(self.registration_no, autoescape=True)
            )
        if self.county:
            output = Contract.seller_region_code == self.county
            absorption = Contract.buyer_region_code == self.county
            where.append(
                {"output": output, "absorption": absorption}.get(
                    self.side, or_(output, absorption)
                )
            )
        if self.field_id is not None:
            where.append(Contract.field_id == self.field_id)
        if self.contract_type:
            where.append(Contract.contract_type == self.contract_type)
        if self.status:
            where.append(Contract.status == self.status)
        if self.signed_from:
            where.append(Contract.signed_on >= self.signed_from)
        if self.signed_to:
            where.append(Contract.signed_on <= self.signed_to)
        if self.registered_from:
            where.append(
                Contract.registered_at >= local_day_start(self.registered_from)
            )
        if self.registered_to:
            end = local_day_start(self.registered_to + timedelta(days=1))
            where.append(Contract.registered_at < end)
        if self.amount_min is not None:
            where.append(Contract.amount_fen >= self.amount_min)
        if self.amount_max is not None:
            where.append(Contract.amount_fen <= self.amount_max)
        return where

    def order_by(self) -> list:
        """ORDER BY clauses of the chosen sort, with the id as tie-breaker."""
        return _order(self.sort if self.sort in SORTS else "signed_desc")


def _digits(value):
    # Full-width digits and pasted blanks, as in a number copied from a document.
    if not isinstance(value, str):
        return value
    return "".join(unicodedata.normalize("NFKC", value).split())


class _Years:
    def __call__(self, form, field) -> None:
        if field.data and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
            raise ValidationError(f"日期须在 {FIRST_YEAR} 至 {LAST_YEAR} 年之间。")


def _date(label: str) -> DateField:
    return DateField(label, validators=[Optional(), _Years()])


class RegisterFilterForm(BaseForm):
    """The register's search (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(
        "当事人名称",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[Optional(), Length(max=100), SafeText()],
        description="买方或卖方（含平台外单位）名称中的文字。",
    )
    no = StringField(
        "登记号",
        filters=[_digits],
        validators=[
            Optional(),
            Regexp(r"^[0-9]{1,16}$", message="登记号只能是 16 位以内的数字。"),
        ],
    )
    county = SelectField("县区", default="")
    side = SelectField("输出/吸纳", choices=choices(SIDES.items()), default="any")
    field = SelectField("技术领域", default="")
    type = SelectField("合同类型", default="")
    status = SelectField("登记状态", default="")
    signed_from = _date("签订日期起")
    signed_to = _date("签订日期止")
    registered_from = _date("登记日期起")
    registered_to = _date("登记日期止")
    amount_min = WanField("成交额下限（万元）", validators=[Optional()])
    amount_max = WanField("成交额上限（万元）", validators=[Optional()])
    sort = SelectField("排序", choices=choices(SORTS.items()), default="signed_desc")

    def __init__(self, formdata, status_labels: dict, **kwargs):
        super().__init__(formdata, **kwargs)
        self.county.choices = choices([("", "全部县区"), *region_options()])
        fields = db.session.execute(
            select(TechField.id, TechField.name).order_by(TechField.sort_order)
        ).all()
        self.field.choices = choices(
            [("", "全部领域")] + [(str(f.id), f.name) for f in fields]
        )
        self.type.choices = choices(
            [("", "全部类型")] + [(t.value, n) for t, n in CONTRACT_TYPE_LABELS.items()]
        )
        self.status.choices = choices(
            [("", "全部状态")] + [(s.value, n) for s, n in status_labels.items()]
        )

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then ranges that run backwards."""
        valid = super().validate(extra_validators)
        for low, high, message in (
            (self.signed_from, self.signed_to, "签订日期止不能早于签订日期起。"),
            (
                self.registered_from,
                self.registered_to,
                "登记日期止不能早于登记日期起。",
            ),
            (self.amount_min, self.amount_max, "成交额上限不能低于下限。"),
        ):
            if low.errors or high.errors or low.data is None or high.data is None:
                continue
            if high.data < low.data:
                high.errors = [*high.errors, message]
                valid = False
        return valid

    def problems(self) -> str:
        """Every refused value, each with the label of its field."""
        return "；".join(
            f"{self[name].label.text}：{message}"
            for name, messages in self.errors.items()
            for message in messages
        )

    def link_args(self) -> dict[str, str]:
        """The valid criteria as typed, for page links and exports."""
        return {
            f.name: f.raw_data[0]
            for f in self
            if f.raw_data and f.raw_data[0] and not f.errors
        }

    def to_filter(self) -> RegisterFilter:
        """The valid criteria as a filter; a refused value filters nothing."""

        def value(field, default=None):
            return default if field.errors or field.data in (None, "") else field.data

        field_id = value(self.field)
        return RegisterFilter(
            party=value(self.q, ""),
            registration_no=value(self.no, ""),
            county=value(self.county, ""),
            side=value(self.side, "any"),
            field_id=int(field_id) if field_id else None,
            contract_type=value(self.type, ""),
            status=value(self.status, ""),
            signed_from=value(self.signed_from),
            signed_to=value(self.signed_to),
            registered_from=value(self.registered_from),
            registered_to=value(self.registered_to),
            amount_min=value(self.amount_min),
            amount_max=value(self.amount_max),
            sort=value(self.sort, "signed_desc"),
        )
