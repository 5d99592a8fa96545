"""The form on the API token settings page."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import Length

from marketplace.forms_common import BaseForm, SafeText, strip_filter


class TokenForm(BaseForm):
    """A name to recognise the token by."""

    name = StringField(
        "令牌名称", filters=[strip_filter], validators=[Length(max=60), SafeText()]
    )
