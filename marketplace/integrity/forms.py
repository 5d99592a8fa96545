"""Forms for recording and revoking research-integrity records."""

from __future__ import annotations

from wtforms import (
    DateField,
    EmailField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from marketplace.forms_common import BaseForm, SafeText, choices, strip_filter
from marketplace.integrity import services
from marketplace.models import MISCONDUCT_TYPES


class RecordForm(BaseForm):
    """A misconduct finding against an organisation or a person."""

    subject = RadioField(
        "记录对象",
        choices=choices(services.SUBJECTS.items()),
        default="org",
        validators=[DataRequired(message="请选择记录对象。")],
    )
    org_text = StringField(
        "机构（记录对象为机构时）",
        filters=[strip_filter],
        validators=[Optional(), Length(max=100), SafeText()],
        description="机构全称或 18 位统一社会信用代码；该机构全体成员均受限制。",
    )
    email = EmailField(
        "当事人登录邮箱（记录对象为个人时）",
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=254),
            Email(message="请输入有效的邮箱地址。", check_deliverability=False),
        ],
        description="仅限制该当事人本人；记录同时关联其所在机构，便于查询。",
    )
    misconduct_type = SelectField(
        "失信行为类型",
        choices=choices([("", "请选择"), *MISCONDUCT_TYPES.items()]),
        validators=[DataRequired(message="请选择失信行为类型。")],
    )
    facts = TextAreaField(
        "失信事实",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写失信事实。"),
            Length(max=services.MAX_FACTS),
            SafeText(multiline=True),
        ],
    )
    decided_on = DateField(
        "处理决定日期", validators=[DataRequired(message="请填写处理决定日期。")]
    )
    restricted_until = DateField(
        "限制截止日期",
        validators=[Optional()],
        description="限制期含当日；留空表示不设限制措施。",
    )
    source_document = StringField(
        "处理决定文号",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写处理决定文号。"),
            Length(max=services.MAX_SOURCE),
            SafeText(),
        ],
        description="如：驻科〔2026〕12 号。",
    )

    def to_data(self) -> services.RecordData:
        """The validated input as the service's plain values."""
        return services.RecordData(
            subject=self.subject.data or "",
            org_text=self.org_text.data or "",
            email=self.email.data or "",
            misconduct_type=self.misconduct_type.data or "",
            facts=self.facts.data or "",
            decided_on=self.decided_on.data,
            restricted_until=self.restricted_until.data,
            source_document=self.source_document.data or "",
        )


class RevokeForm(BaseForm):
    """Why the bureau revokes a record."""

    reason = TextAreaField(
        "撤销理由",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写撤销理由。"),
            Length(max=services.MAX_REASON),
            SafeText(multiline=True),
        ],
    )
