"""Forms for NDA templates, a listing's NDA choice and signing."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from marketplace.confirm import confirm_field
from marketplace.forms_common import BaseForm, SafeText, choices, strip_filter
from marketplace.ndas.services import MAX_NAME, MAX_PERSON, MAX_TEXT, OWN


def _nda_text(label: str, required: bool) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写保密协议正文。") if required else Optional(),
            Length(max=MAX_TEXT),
            SafeText(multiline=True),
        ],
    )


def _person(label: str) -> StringField:
    return StringField(
        label,
        filters=[strip_filter],
        validators=[
            DataRequired(message=f"请填写{label}。"),
            Length(max=MAX_PERSON),
            SafeText(),
        ],
    )


class TemplateForm(BaseForm):
    """A bureau NDA template; a changed text is saved as a new version."""

    name = StringField(
        "协议名称",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写协议名称。"),
            Length(max=MAX_NAME),
            SafeText(),
        ],
    )
    text = _nda_text("协议正文", required=True)
    active = BooleanField("可供选用", default=True)


class ListingNdaForm(BaseForm):
    """The owner's choice of NDA for a listing."""

    choice = SelectField("保密协议")
    own_text = _nda_text("自拟协议正文", required=False)

    def set_choices(self, templates) -> None:
        """Offer no NDA, the bureau's active templates and an own text."""
        self.choice.choices = choices(
            [
                ("", "不使用保密协议"),
                *(
                    (str(t.id), f"{t.name}（第 {t.current.number} 版）")
                    for t in templates
                ),
                (OWN, "自拟协议文本"),
            ]
        )

    def validate_own_text(self, field) -> None:
        """An own text is needed when the owner chose to write one."""
        if self.choice.data == OWN and not field.data:
            raise ValidationError("选择自拟协议时，请填写协议正文。")


class SignForm(BaseForm):
    """Signing the NDA text shown on the page."""

    version_id = HiddenField()
    full_name = _person("姓名")
    position = _person("职务")
    confirm = confirm_field("本人已阅读上述协议全文，代表所在机构同意并签署")

    def version(self) -> int | None:
        """The version the signer was shown (None when the field is garbage)."""
        raw = (self.version_id.data or "").strip()
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
