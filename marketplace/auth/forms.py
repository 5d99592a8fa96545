"""Forms for sign-up, login and password changes."""

from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from marketplace import identifiers
from marketplace.auth.passwords import PASSWORD_HELP, PASSWORD_MAX, password_problem
from marketplace.forms_common import (
    BaseForm,
    CreditCode,
    SafeText,
    choices,
    strip_filter,
)
from marketplace.models import ORG_KIND_LABELS
from marketplace.permissions import SIGNUP_KINDS


def strong_password(form, field) -> None:
    """The password rule of auth.passwords, as a WTForms validator."""
    problem = password_problem(field.data)
    if problem:
        raise ValidationError(problem)


def _password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), Length(max=PASSWORD_MAX), strong_password],
        description=PASSWORD_HELP,
    )


def email_field(label: str) -> EmailField:
    """A required, well-formed e-mail address."""
    return EmailField(
        label,
        filters=[strip_filter],
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message="请输入有效的邮箱地址。", check_deliverability=False),
        ],
    )


def _confirm_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(), EqualTo("password", "两次输入的密码不一致。")],
    )


class SignupForm(BaseForm):
    """Register an organisation and its first administrator."""

    kind = SelectField(
        "机构类型",
        choices=choices((k.value, ORG_KIND_LABELS[k]) for k in SIGNUP_KINDS),
        validators=[DataRequired()],
    )
    org_name = StringField(
        "机构名称",
        filters=[strip_filter],
        validators=[DataRequired(), Length(min=2, max=100), SafeText()],
    )
    credit_code = StringField(
        "统一社会信用代码",
        filters=[identifiers.credit_code],
        validators=[DataRequired(), CreditCode()],
        description="18 位，见营业执照或法人登记证书。",
    )
    region = SelectField("所在县区", validators=[DataRequired()])
    name = StringField(
        "联系人姓名",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=60), SafeText()],
    )
    email = email_field("登录邮箱")
    password = _password_field("密码")
    confirm = _confirm_field("确认密码")


class LoginForm(BaseForm):
    """Email and password."""

    email = EmailField(
        "邮箱", filters=[strip_filter], validators=[DataRequired(), Length(max=254)]
    )
    password = PasswordField("密码", validators=[DataRequired(), Length(max=128)])
    remember = BooleanField("在此设备上保持登录")


class PasswordChangeForm(BaseForm):
    """Change one's own password."""

    current = PasswordField("当前密码", validators=[DataRequired(), Length(max=128)])
    password = _password_field("新密码")
    confirm = _confirm_field("确认新密码")


class ForgotPasswordForm(BaseForm):
    """The e-mail to send a reset link to."""

    email = email_field("登录邮箱")


class NewPasswordForm(BaseForm):
    """Choose a password through a mailed link (reset or invitation)."""

    password = _password_field("新密码")
    confirm = _confirm_field("确认新密码")


class ConfirmEmailForm(BaseForm):
    """One button: mail scanners that open links confirm nothing."""
