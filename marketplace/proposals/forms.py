"""Forms for bids (揭榜申报), decisions on them and the bureau's direct award."""

from __future__ import annotations

from typing import ClassVar

from flask_wtf.file import MultipleFileField
from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.confirm import confirm_field
from marketplace.forms_common import (
    BaseForm,
    SafeText,
    WanField,
    choices,
    strip_filter,
)
from marketplace.models import DeclineReason

MAX_MEMBER_LINES = 10


class AmountRequired:
    """A WanField that must hold a figure (here blank does not mean 面议)."""

    field_flags: ClassVar[dict[str, bool]] = {"required": True}

    def __call__(self, form, field) -> None:
        if field.data is None and not field.money_error:
            raise ValidationError("请填写报价（万元）。")


def _member_lines(form, field) -> None:
    lines = [line for line in (field.data or "").splitlines() if line.strip()]
    if len(lines) > MAX_MEMBER_LINES:
        raise ValidationError(f"联合体成员最多 {MAX_MEMBER_LINES} 家。")
    if any(len(line.strip()) > 100 for line in lines):
        raise ValidationError("每行填写一家机构的全称或统一社会信用代码。")


def member_list(text: str | None) -> list[str]:
    """The consortium textarea as a list of names or codes, blanks dropped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class BidForm(BaseForm):
    """A bid on a challenge: solution, route, price, duration, team, consortium."""

    solution = TextAreaField(
        "解决方案概述",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=5000), SafeText(multiline=True)],
    )
    technical_route = TextAreaField(
        "技术路线",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=5000), SafeText(multiline=True)],
    )
    price = WanField(
        "报价（万元）",
        validators=[AmountRequired()],
        description="以万元为单位的数字，例如 45.5。",
    )
    duration_months = IntegerField(
        "实施周期（月）",
        validators=[
            InputRequired(message="请填写实施周期。"),
            NumberRange(min=1, max=120, message="实施周期应为 1 到 120 个月。"),
        ],
    )
    team = TextAreaField(
        "团队情况",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=3000), SafeText(multiline=True)],
        description="负责人、主要成员及其专长。",
    )
    members = TextAreaField(
        "联合体成员",
        filters=[strip_filter],
        validators=[Optional(), SafeText(multiline=True), _member_lines],
        description="联合申报时填写：每行一家已注册机构的全称或统一社会信用代码；"
        "对方确认后生效。",
    )
    attachments = MultipleFileField(
        "附件",
        description="可选 PDF、DOCX、XLSX 文件，每个不超过 20 MB，可多选。",
    )


class BidEditForm(BidForm):
    """Editing a bid: the same fields, plus attachments to remove."""

    remove_attachments = SelectMultipleField(
        "删除已上传的附件",
        coerce=int,
        choices=[],
        validate_choice=True,
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )


class DecisionForm(BaseForm):
    """A bare decision with nothing to say (shortlist, withdraw): its token only."""


DECLINE_CHOICES = choices(
    [("", "请选择未中选原因"), *((r.value, r.label) for r in DeclineReason)]
)


def _reason_code(required: bool) -> SelectField:
    # Required or not, only a listed code gets through.
    return SelectField(
        "未中选原因",
        choices=DECLINE_CHOICES,
        validators=[DataRequired(message="请选择未中选原因。")]
        if required
        else [Optional()],
    )


def _decline_note(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[strip_filter],
        validators=[Optional(), Length(max=500), SafeText(multiline=True)],
    )


class DeclineForm(BaseForm):
    """Decline one bid: a reason code the owner must pick, and an optional note."""

    reason_code = _reason_code(required=True)
    note = _decline_note("补充说明（选填，申报方可见）")


class SelectWinnerForm(BaseForm):
    """Select the winner; one reason code (and note) goes to every other bidder."""

    # The service requires the code when other live bids are left to decline.
    reason_code = _reason_code(required=False)
    note = _decline_note("告知其他申报方的补充说明（选填）")
    confirm = confirm_field("确认选定中选：选定后不能更改，其他申报将告知未中选")


class MembershipForm(BaseForm):
    """A consortium member's answer to an invitation."""

    answer = HiddenField(
        validators=[
            DataRequired(),
            AnyOf(["confirm", "decline"], message="无效的选择。"),
        ]
    )


class DirectAwardForm(BaseForm):
    """The bureau awards a challenge directly (定向委托) with a justification."""

    org = StringField(
        "承担机构",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=100), SafeText()],
        description="填写已注册机构的全称或统一社会信用代码。",
    )
    justification = TextAreaField(
        "定向委托理由",
        filters=[strip_filter],
        validators=[
            DataRequired(),
            Length(min=20, max=3000, message="理由应为 20 到 3000 个字。"),
            SafeText(multiline=True),
        ],
        description="书面说明定向委托的依据，将记入审计日志。",
    )
