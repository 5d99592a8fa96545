"""Forms of the sysadmin's area: every action carries a reason."""

from __future__ import annotations

from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.admin.services import REASON_MAX, ROLE_LABELS
from marketplace.forms_common import BaseForm, SafeText, choices, strip_filter


class ReasonForm(BaseForm):
    """An action on an account, with the reason the audit log keeps."""

    reason = TextAreaField(
        "操作原因",
        filters=[strip_filter],
        validators=[
            DataRequired("请填写操作原因。"),
            Length(max=REASON_MAX),
            SafeText(multiline=True),
        ],
    )


class RoleForm(ReasonForm):
    """A new role for an account."""

    role = SelectField(
        "新角色", choices=choices(ROLE_LABELS.items()), validators=[DataRequired()]
    )
