"""A required tick before an action that cannot be undone (money, closing, verdicts).

The box is checked on the server: a POST without it changes nothing, whatever
the page's script did or did not do.
"""

from __future__ import annotations

from flask import flash
from wtforms import BooleanField
from wtforms.validators import DataRequired

from marketplace.forms_common import BaseForm
from marketplace.views import EXPIRED_FORM

CONFIRM_MESSAGE = "请先勾选确认框：此操作不可撤销。"


def confirm_field(label: str) -> BooleanField:
    """The confirmation tick of a form, refused unless ticked."""
    return BooleanField(label, validators=[DataRequired(CONFIRM_MESSAGE)])


class ConfirmForm(BaseForm):
    """A bare action button with its CSRF token and the confirmation tick."""

    confirm = confirm_field("我已核对，确认操作")


def confirmed() -> bool:
    """Whether the POST carries its token and the tick (flashes why when not)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        return True
    token = getattr(form, "csrf_token", None)  # absent when CSRF is switched off
    if token is not None and token.errors:
        flash(EXPIRED_FORM, "danger")
    else:
        flash(CONFIRM_MESSAGE, "danger")
    return False
