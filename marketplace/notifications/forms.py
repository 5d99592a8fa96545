"""The form on the e-mail notification settings page."""

from __future__ import annotations

from wtforms import RadioField
from wtforms.validators import DataRequired

from marketplace.forms_common import BaseForm, choices
from marketplace.models import MailPreference


class MailPreferenceForm(BaseForm):
    """One choice of three."""

    preference = RadioField(
        "邮件通知",
        choices=choices((p.value, p.label) for p in MailPreference),
        validators=[DataRequired(message="请选择一项。")],
    )
