"""Forms for organisation profiles and members."""

from __future__ import annotations

from wtforms import (
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import URL, DataRequired, Length, Optional

from marketplace import identifiers
from marketplace.auth.forms import email_field
from marketplace.forms_common import (
    BaseForm,
    CreditCode,
    SafeText,
    choices,
    phone_field,
    strip_filter,
)
from marketplace.models import UserRole

ROLE_CHOICES = [(r.value, r.label) for r in UserRole]


class ProfileForm(BaseForm):
    """An organisation's public profile."""

    name = StringField(
        "机构名称",
        filters=[strip_filter],
        validators=[DataRequired(), Length(min=2, max=100), SafeText()],
    )
    credit_code = StringField(
        "统一社会信用代码",
        filters=[identifiers.credit_code],
        validators=[Optional(), CreditCode()],
    )
    region = SelectField("所在县区", validators=[DataRequired()])
    description = TextAreaField(
        "机构简介",
        filters=[strip_filter],
        validators=[Length(max=5000), SafeText(multiline=True)],
    )
    website = StringField(
        "网站",
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=200),
            URL(message="请输入以 http:// 或 https:// 开头的网址。"),
        ],
    )
    contact_phone = phone_field()
    contact_person = StringField(
        "认证联系人",
        filters=[strip_filter],
        validators=[Length(max=60), SafeText()],
        description="科技局审核时联系的人员，仅科技局和本机构管理员可见。",
    )


class MemberForm(BaseForm):
    """Invite a member by e-mail; they choose their own password."""

    email = email_field("邮箱")
    name = StringField(
        "姓名",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=60), SafeText()],
    )
    role = SelectField(
        "角色", choices=choices(ROLE_CHOICES), validators=[DataRequired()]
    )


class MemberRoleForm(BaseForm):
    """Change a member's role."""

    role = SelectField(
        "角色", choices=choices(ROLE_CHOICES), validators=[DataRequired()]
    )


class MemberActiveForm(BaseForm):
    """Deactivate or reactivate a member."""

    active = HiddenField(validators=[DataRequired()])
