"""Forms for research results, renewals and adoption applications."""

from __future__ import annotations

import re

from wtforms import (
    DateField,
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.exceptions import ServiceError
from marketplace.forms_common import (
    BaseForm,
    SafeText,
    WanField,
    choices,
    phone_field,
    strip_filter,
)
from marketplace.results.services import (
    IP_TYPES,
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS,
    TRANSFER_MODES,
    ResultData,
    check_valid_until,
    trl_band,
)

_KEYWORD_SPLIT = re.compile(r"[、，,;；\s]+")
TRL_CHOICES = [
    ("", "请选择"),
    *((str(n), f"{n} 级（{trl_band(n)}）") for n in range(1, 10)),
]
IP_CHOICES = [("", "请选择"), *((t, t) for t in IP_TYPES)]


def split_keywords(text: str | None) -> list[str]:
    """Keywords typed in one box, split on 、，,;； and white space, deduplicated."""
    words = [w for w in _KEYWORD_SPLIT.split(text or "") if w]
    return list(dict.fromkeys(words))


def _keywords(form, field) -> None:
    words = split_keywords(field.data)
    if len(words) > MAX_KEYWORDS:
        raise ValidationError(f"关键词最多 {MAX_KEYWORDS} 个。")
    if any(len(w) > MAX_KEYWORD_LENGTH for w in words):
        raise ValidationError(f"每个关键词不超过 {MAX_KEYWORD_LENGTH} 个字。")


def _future_date(form, field) -> None:
    try:
        check_valid_until(field.data)
    except ServiceError as error:
        raise ValidationError(error.message) from None


def _text(label: str, limit: int, required: bool = False) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[strip_filter],
        validators=[
            DataRequired(message=f"请填写{label}。") if required else Optional(),
            Length(max=limit),
            SafeText(multiline=True),
        ],
    )


def _line(label: str, limit: int) -> StringField:
    return StringField(
        label,
        filters=[strip_filter],
        validators=[Optional(), Length(max=limit), SafeText()],
    )


class ResultForm(BaseForm):
    """A research result's content (科技成果登记)."""

    title = StringField(
        "成果名称",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写成果名称。"),
            Length(max=200),
            SafeText(),
        ],
    )
    abstract = _text("成果简介", 10000, required=True)
    field = SelectField(
        "技术领域", validators=[DataRequired(message="请选择技术领域。")]
    )
    discipline = _line("学科", 60)
    keywords = StringField(
        "关键词",
        filters=[strip_filter],
        validators=[Optional(), Length(max=400), SafeText(), _keywords],
        description=f"用顿号、逗号或空格分隔，最多 {MAX_KEYWORDS} 个。",
    )
    trl = SelectField(
        "成熟度（技术就绪度 TRL）",
        choices=choices(TRL_CHOICES),
        validators=[DataRequired(message="请选择成熟度。")],
        description="1–3 级研发，4–5 级小试，6–7 级中试，8–9 级产业化。",
    )
    ip_type = SelectField(
        "知识产权类型",
        choices=choices(IP_CHOICES),
        validators=[DataRequired(message="请选择知识产权类型。")],
    )
    ip_numbers = _text("专利号/登记号", 1000)
    transfer_modes = SelectMultipleField(
        "转化方式",
        choices=choices((m, m) for m in TRANSFER_MODES),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(message="请至少选择一种转化方式。")],
    )
    price = WanField("转让价格（万元）", negotiable=True, description="留空表示面议。")
    benefit = _text("效益说明", 5000)
    confidential_detail = _text("保密内容", 10000)
    valid_until = DateField(
        "有效期至",
        validators=[DataRequired(message="请填写有效期（日期）。"), _future_date],
    )
    contact_name = _line("联系人", 60)
    contact_phone = phone_field()
    contact_email = EmailField(
        "联系邮箱",
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=254),
            Email(message="请输入有效的邮箱地址。", check_deliverability=False),
        ],
    )

    def set_field_choices(self, fields) -> None:
        """Offer the technology fields (TechField rows) in display order."""
        self.field.choices = choices(
            [("", "请选择"), *((str(f.id), f.name) for f in fields)]
        )

    def fill_from(self, result) -> None:
        """Show a stored result in the form (GET of the edit page)."""
        for name in (
            "title",
            "abstract",
            "discipline",
            "ip_type",
            "ip_numbers",
            "transfer_modes",
            "benefit",
            "confidential_detail",
            "valid_until",
            "contact_name",
            "contact_phone",
            "contact_email",
        ):
            getattr(self, name).data = getattr(result, name)
        self.field.data = str(result.field_id or "")
        self.trl.data = str(result.trl or "")
        self.keywords.data = "、".join(result.keywords or [])
        self.price.data = result.price_fen

    def to_data(self) -> ResultData:
        """The validated input as the service's plain values."""
        return ResultData(
            title=self.title.data,
            abstract=self.abstract.data,
            field_id=int(self.field.data),
            discipline=self.discipline.data or "",
            keywords=split_keywords(self.keywords.data),
            trl=int(self.trl.data),
            ip_type=self.ip_type.data,
            ip_numbers=self.ip_numbers.data or "",
            transfer_modes=list(self.transfer_modes.data),
            price_fen=self.price.data,
            benefit=self.benefit.data or "",
            confidential_detail=self.confidential_detail.data or "",
            valid_until=self.valid_until.data,
            contact_name=self.contact_name.data or "",
            contact_phone=self.contact_phone.data or "",
            contact_email=self.contact_email.data or "",
        )


class RenewForm(BaseForm):
    """A new valid-until date for a published or expired result."""

    valid_until = DateField(
        "新的有效期至",
        validators=[DataRequired(message="请填写新的有效期（日期）。"), _future_date],
    )


class AdoptionForm(BaseForm):
    """An enterprise's application to adopt a result (揭榜转化)."""

    use_scenario = _text("应用场景", 5000, required=True)
    offered_terms = _text("合作条件", 5000, required=True)


class DeclineForm(BaseForm):
    """The reason the owner gives when declining an application."""

    reason = _text("婉拒理由", 500, required=True)
