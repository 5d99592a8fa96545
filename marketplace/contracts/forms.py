"""Forms for recording, registering and paying contracts."""

from __future__ import annotations

from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from marketplace import identifiers
from marketplace.forms_common import (
    BaseForm,
    Checked,
    SafeText,
    WanField,
    choices,
    strip_filter,
)
from marketplace.models import CONTRACT_TYPE_LABELS

TYPE_CHOICES = [(t.value, label) for t, label in CONTRACT_TYPE_LABELS.items()]
OUTSIDE = ""  # the org select's value for a party outside the platform


class ContractForm(BaseForm):
    """A technology contract as a party or broker records it."""

    title = StringField(
        "合同名称",
        filters=[strip_filter],
        validators=[Optional(), Length(max=200), SafeText()],
    )
    contract_type = SelectField("合同类型", choices=choices(TYPE_CHOICES))
    buyer_org = SelectField("买方（委托方/受让方）", validate_choice=True)
    buyer_name = StringField(
        "平台外买方名称",
        filters=[strip_filter],
        validators=[Optional(), Length(max=100), SafeText()],
        description="买方不在平台上时填写名称和所在县区。",
    )
    buyer_region = SelectField("平台外买方所在县区", validate_choice=False)
    seller_org = SelectField("卖方（受托方/让与方）", validate_choice=True)
    seller_name = StringField(
        "平台外卖方名称",
        filters=[strip_filter],
        validators=[Optional(), Length(max=100), SafeText()],
    )
    seller_region = SelectField("平台外卖方所在县区", validate_choice=False)
    broker_org = SelectField("技术转移机构（可选）", validate_choice=False)
    field = SelectField(
        "技术领域",
        validate_choice=False,
        description="留空则沿用所关联技术需求或科技成果的技术领域。",
    )
    signed_on = DateField("签订日期", validators=[DataRequired("请填写签订日期。")])
    amount = WanField("合同成交额（万元）", validators=[InputRequired("请填写金额。")])
    tech_amount = WanField(
        "技术交易额（万元）", validators=[InputRequired("请填写金额。")]
    )
    term_start = DateField("合同期限开始", validators=[Optional()])
    term_end = DateField("合同期限结束", validators=[Optional()])
    deal_id = HiddenField()
    challenge_id = HiddenField()
    result_id = HiddenField()


class RegisterForm(BaseForm):
    """The bureau's registration number."""

    registration_no = StringField(
        "登记号",
        filters=[identifiers.registration_no],
        validators=[
            DataRequired("请填写登记号。"),
            Checked(identifiers.registration_no_error),
        ],
        description="14–16 位数字。",
    )


class RejectForm(BaseForm):
    """Why the bureau refuses a contract."""

    reason = TextAreaField(
        "退回原因",
        filters=[strip_filter],
        validators=[
            DataRequired("请填写退回原因。"),
            Length(max=2000),
            SafeText(multiline=True),
        ],
    )


class PaymentForm(BaseForm):
    """Money received under a contract."""

    received_on = DateField("收款日期", validators=[DataRequired("请填写收款日期。")])
    amount = WanField("收款金额（万元）", validators=[InputRequired("请填写金额。")])
    note = StringField(
        "备注",
        filters=[strip_filter],
        validators=[Optional(), Length(max=200), SafeText()],
    )
