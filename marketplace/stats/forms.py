"""Forms of the statistics pages."""

from __future__ import annotations

from wtforms import DateField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.validators import Optional as OptionalValue

from marketplace.forms_common import BaseForm, SafeText, WanField, strip_filter


class RangeForm(BaseForm):
    """The date range of the dashboard (GET, no CSRF needed)."""

    class Meta:
        csrf = False

    start = DateField("开始日期", name="from", validators=[OptionalValue()])
    end = DateField("结束日期", name="to", validators=[OptionalValue()])


class TargetForm(BaseForm):
    """The city-wide turnover target of one year."""

    year = IntegerField(
        "年度",
        validators=[
            InputRequired("请填写年度。"),
            NumberRange(2000, 2100, "年份须在 2000 至 2100 之间。"),
        ],
    )
    amount = WanField(
        "目标合同成交额（万元）", validators=[DataRequired("请填写金额。")]
    )
    note = StringField(
        "说明", filters=[strip_filter], validators=[Length(max=200), SafeText()]
    )
