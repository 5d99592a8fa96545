"""Forms for the bureau's verification queue."""

from __future__ import annotations

from wtforms import SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.forms_common import BaseForm, SafeText, choices, strip_filter
from marketplace.models import CERTIFICATION_TAGS


class VerifyForm(BaseForm):
    """Approve an organisation (optional note)."""

    note = TextAreaField(
        "备注", filters=[strip_filter], validators=[Length(max=500), SafeText(True)]
    )


class RefuseForm(BaseForm):
    """Refuse an organisation with a reason its members see."""

    reason = TextAreaField(
        "不予通过的理由",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=500), SafeText(multiline=True)],
    )


class CertificationsForm(BaseForm):
    """The certification tags the bureau records for an organisation."""

    tags = SelectMultipleField(
        "认定类型",
        choices=choices((t, t) for t in CERTIFICATION_TAGS),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
