"""Forms for projects: start, milestones, deliverables, acceptance, exemption."""

from __future__ import annotations

from typing import ClassVar

from flask_wtf.file import MultipleFileField
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from marketplace.confirm import confirm_field
from marketplace.forms_common import (
    BaseForm,
    SafeText,
    WanField,
    choices,
    strip_filter,
)
from marketplace.projects.exemption import MIN_ACCOUNT


class AmountRequired:
    """A WanField that must hold a figure (0 is allowed, blank is not)."""

    field_flags: ClassVar[dict[str, bool]] = {"required": True}

    def __call__(self, form, field) -> None:
        if field.data is None and not field.money_error:
            raise ValidationError("请填写拨付金额。")


def _optional_id(value):
    """A contract id from the form, None when none was chosen."""
    if value in (None, ""):
        return None
    return int(value)


class StartForm(BaseForm):
    """Start the project under one of the challenge's contracts."""

    # The service decides which contracts qualify and says why one does not.
    contract = SelectField(
        "技术合同", coerce=_optional_id, validate_choice=False, choices=[]
    )


class MilestoneForm(BaseForm):
    """One milestone of the plan: what is due, when, and what it releases."""

    deliverable = StringField(
        "交付成果",
        filters=[strip_filter],
        validators=[DataRequired("请填写交付成果。"), Length(max=200), SafeText()],
    )
    description = TextAreaField(
        "内容与验收要求",
        filters=[strip_filter],
        validators=[Optional(), Length(max=5000), SafeText(multiline=True)],
    )
    due_on = DateField(
        "计划完成日期", validators=[InputRequired("请填写计划完成日期。")]
    )
    amount = WanField(
        "验收后拨付金额（万元）",
        validators=[AmountRequired()],
        description="以万元为单位，可为 0；各期合计不超过项目经费。",
    )


class DeliverableForm(BaseForm):
    """The winner's submission of a milestone's deliverable."""

    note = TextAreaField(
        "成果说明",
        filters=[strip_filter],
        validators=[
            DataRequired("请填写成果说明。"),
            Length(max=5000),
            SafeText(multiline=True),
        ],
    )
    attachments = MultipleFileField(
        "附件",
        description="可选 PDF、DOCX、XLSX 文件，每个不超过 20 MB，可多选。",
    )


class ActionForm(BaseForm):
    """A bare POST with its CSRF token (accept, begin, delete, relist)."""


class ReturnForm(BaseForm):
    """Why the owner returns a deliverable."""

    comment = TextAreaField(
        "退回意见",
        filters=[strip_filter],
        validators=[
            DataRequired("请填写退回意见。"),
            Length(max=5000),
            SafeText(multiline=True),
        ],
    )


class ScheduleForm(BaseForm):
    """The bureau schedules a mid-term check or the final acceptance."""

    kind = SelectField(
        "验收类型",
        choices=choices([("midterm", "中期检查"), ("final", "结题验收")]),
        validate_choice=True,
    )
    scheduled_on = DateField("验收日期", validators=[InputRequired("请填写验收日期。")])


class ConcludeForm(BaseForm):
    """The bureau records the panel's conclusion and the report."""

    conclusion = RadioField(
        "验收结论",
        choices=choices(
            [("passed", "通过"), ("rectify", "整改后通过"), ("failed", "不通过")]
        ),
        validators=[InputRequired("请选择验收结论。")],
    )
    report = TextAreaField(
        "验收报告",
        filters=[strip_filter],
        validators=[
            DataRequired("请填写验收报告。"),
            Length(max=20000),
            SafeText(multiline=True),
        ],
    )
    confirm = confirm_field("确认记录该结论（记录后不能修改，不通过的项目即终止）")


class ExemptionForm(BaseForm):
    """The winner's account of its diligence."""

    account = TextAreaField(
        "勤勉尽责情况说明",
        filters=[strip_filter],
        validators=[
            DataRequired("请填写勤勉尽责情况说明。"),
            Length(
                min=MIN_ACCOUNT,
                max=20000,
                message=f"说明应为 {MIN_ACCOUNT} 到 20000 个字。",
            ),
            SafeText(multiline=True),
        ],
        description="说明按约定投入人员与经费、执行技术路线、及时报告风险等情况，"
        f"不少于 {MIN_ACCOUNT} 个字。",
    )


class DecisionForm(BaseForm):
    """The bureau's decision on an exemption."""

    decision = RadioField(
        "认定结论",
        choices=choices([("granted", "免责"), ("refused", "不予免责")]),
        validators=[InputRequired("请选择认定结论。")],
    )
    reason = TextAreaField(
        "认定理由",
        filters=[strip_filter],
        validators=[
            DataRequired("请填写认定理由。"),
            Length(max=20000),
            SafeText(multiline=True),
        ],
    )
    confirm = confirm_field("确认作出该认定（作出后不能修改）")
