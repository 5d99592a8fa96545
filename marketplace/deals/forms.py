"""Forms of the broker workspace."""

from __future__ import annotations

from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.deals.services import NOTE_MAX, STAGE_LABELS
from marketplace.forms_common import BaseForm, SafeText, choices, strip_filter


class DealForm(BaseForm):
    """A deal from scratch between two registered organisations."""

    title = StringField(
        "项目名称",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=200), SafeText()],
    )
    demand_org = StringField(
        "需求方（机构全称或统一社会信用代码）",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=100), SafeText()],
    )
    supply_org = StringField(
        "供给方（机构全称或统一社会信用代码）",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=100), SafeText()],
    )
    challenge_id = HiddenField()
    result_id = HiddenField()


class StageForm(BaseForm):
    """Move a deal to another stage, with a note (required to mark it lost)."""

    stage = SelectField(
        "阶段",
        choices=choices(STAGE_LABELS.items()),
        validate_choice=False,
        validators=[DataRequired()],
    )
    note = TextAreaField(
        "说明",
        filters=[strip_filter],
        validators=[Optional(), Length(max=NOTE_MAX), SafeText(multiline=True)],
    )


class NoteForm(BaseForm):
    """A timeline comment."""

    note = TextAreaField(
        "备注",
        # StageForm's note is on the same page: one id each, one label each.
        id="timeline-note",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=NOTE_MAX), SafeText(multiline=True)],
    )


class BrokerForm(BaseForm):
    """Choose the transfer agency brokering the deal (blank removes it)."""

    broker = StringField(
        "经纪机构（全称或统一社会信用代码，留空为取消）",
        filters=[strip_filter],
        validators=[Optional(), Length(max=100), SafeText()],
    )
