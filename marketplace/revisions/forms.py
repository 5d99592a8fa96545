"""The bureau's verdict on a material change (edit pages reuse the listing forms)."""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.confirm import confirm_field
from marketplace.forms_common import BaseForm, SafeText, strip_filter


class ChangeApproveForm(BaseForm):
    """Apply a material change (optional note; bidders may be notified at once)."""

    note = TextAreaField(
        "备注", filters=[strip_filter], validators=[Length(max=500), SafeText(True)]
    )
    confirm = confirm_field("我已核对修改内容，确认生效")


class ChangeRejectForm(BaseForm):
    """Turn a material change down with a reason the owner sees."""

    reason = TextAreaField(
        "不予通过的理由（发布方可见）",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写不予通过的理由。"),
            Length(max=1000),
            SafeText(multiline=True),
        ],
    )
