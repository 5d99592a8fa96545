"""Forms for adding and editing experts."""

from __future__ import annotations

from wtforms import (
    EmailField,
    PasswordField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.auth import services as accounts
from marketplace.auth.forms import PASSWORD_HELP, strong_password
from marketplace.experts import services
from marketplace.forms_common import (
    BaseForm,
    SafeText,
    choices,
    phone_field,
    strip_filter,
)


def _email(label: str, required: bool = False, **kw) -> EmailField:
    first = DataRequired(message=f"请填写{label}。") if required else Optional()
    return EmailField(
        label,
        filters=[strip_filter],
        validators=[
            first,
            Length(max=accounts.MAX_EMAIL),
            Email(message="请输入有效的邮箱地址。", check_deliverability=False),
        ],
        **kw,
    )


def _line(label: str, limit: int, **kw) -> StringField:
    return StringField(
        label,
        filters=[strip_filter],
        validators=[Optional(), Length(max=limit), SafeText()],
        **kw,
    )


class ExpertForm(BaseForm):
    """The profile the bureau keeps about an expert."""

    title = _line(
        "职称", services.MAX_TITLE, description="如：教授、研究员、高级工程师。"
    )
    fields = SelectMultipleField(
        "技术领域",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        # The service refuses an empty choice or an unknown code in Chinese. No
        # DataRequired: its `required` flag would make browsers demand every box.
        validate_choice=False,
    )
    specialities = TextAreaField(
        "专业特长",
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=services.MAX_SPECIALITIES),
            SafeText(multiline=True),
        ],
        description="研究方向、擅长评审的技术，用于匹配评审项目。",
    )
    contact_phone = phone_field()
    contact_email = _email("联系邮箱", description="留空则使用登录邮箱。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.choices = choices(services.field_options())

    def fill(self, expert) -> None:
        """Show a profile's current values."""
        self.title.data = expert.title
        self.fields.data = list(expert.field_codes or [])
        self.specialities.data = expert.specialities
        self.contact_phone.data = expert.contact_phone
        self.contact_email.data = expert.contact_email

    def to_data(self) -> services.ExpertData:
        """The validated input as the service's plain values."""
        return services.ExpertData(
            title=self.title.data or "",
            field_codes=list(self.fields.data or []),
            specialities=self.specialities.data or "",
            contact_phone=self.contact_phone.data or "",
            contact_email=self.contact_email.data or "",
        )


class NewExpertForm(ExpertForm):
    """Admit an existing user by e-mail, or create the account in its organisation."""

    email = _email(
        "登录邮箱",
        required=True,
        description="已有账号的用户直接入库；没有账号时按下列信息新建账号。",
    )
    name = _line("姓名（新建账号时必填）", services.MAX_NAME)
    affiliation = _line(
        "所属机构（新建账号时必填）",
        100,
        description="已认证机构的全称或 18 位统一社会信用代码。",
    )
    password = PasswordField(
        "初始密码（新建账号时必填）",
        validators=[Optional(), Length(max=128), strong_password],
        description=PASSWORD_HELP + " 请线下告知专家，并提醒其登录后修改。",
    )
