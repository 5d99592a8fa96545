"""Form base class and validators shared by every feature."""

from __future__ import annotations

import unicodedata

from flask_wtf import FlaskForm
from wtforms import Field, Form, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from marketplace import identifiers
from marketplace.creditcode import credit_code_error, normalise
from marketplace.exceptions import ServiceError
from marketplace.money import MoneyError, fen_to_wan_str, parse_wan


class BaseForm(FlaskForm):
    """A CSRF-protected form with WTForms' Chinese messages."""

    class Meta:
        locales = ("zh",)

    def attach_error(self, error: ServiceError) -> None:
        """Show a service refusal next to its field, or above the form."""
        field = getattr(self, error.field, None) if error.field else None
        if isinstance(field, Field):
            field.errors = [*field.errors, error.message]
        else:
            self.form_errors.append(error.message)


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class SafeText:
    """Refuse control characters; single-line fields also refuse line breaks."""

    ALLOWED_MULTILINE = frozenset("\n\r\t")

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data or ""
        if not isinstance(value, str):
            return
        for char in value:
            if self.multiline and char in self.ALLOWED_MULTILINE:
                continue
            if unicodedata.category(char) in {"Cc", "Cs"} or char in "\u2028\u2029":
                raise ValidationError("内容含有不允许的控制字符。")


def strip_filter(value):
    """Trim surrounding white space from text input."""
    return value.strip() if isinstance(value, str) else value


class Checked:
    """Refuse a non-blank value whose check function gives a (Chinese) reason.

    Used instead of Length on identifiers: Length also writes a maxlength
    attribute, and the browser then silently cuts a pasted value (" 2026…99 "
    lost its last digit) before anything could normalise or refuse it.
    """

    def __init__(self, check):
        self.check = check

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        error = self.check(field.data)
        if error:
            raise ValidationError(error)


def phone_field(label: str = "联系电话") -> StringField:
    """An optional phone number, normalised and refused (never cut) when too long."""
    return StringField(
        label,
        filters=[identifiers.phone],
        validators=[SafeText(), Checked(identifiers.phone_error)],
    )


class CreditCode:
    """A valid unified social credit code (GB 32100-2015), optional when blank."""

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        field.data = normalise(field.data)
        error = credit_code_error(field.data)
        if error:
            raise ValidationError(error)


class WanField(StringField):
    """An amount typed in 万元, held as integer fen in `.data` (None when blank)."""

    def __init__(self, label=None, validators=None, negotiable: bool = False, **kw):
        super().__init__(label, validators, **kw)
        self.negotiable = negotiable
        self.money_error: str | None = None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return fen_to_wan_str(self.data) if self.data is not None else ""

    def process_formdata(self, valuelist) -> None:
        """Parse the typed text; blank means None (面议 where allowed)."""
        self.money_error = None
        text = (valuelist[0] if valuelist else "") or ""
        if not text.strip():
            self.data = None
            return
        try:
            self.data = parse_wan(text)
        except MoneyError as error:
            self.data = None
            self.money_error = str(error)

    def pre_validate(self, form: Form) -> None:
        """Report a parse failure as the field's only error."""
        if self.money_error:
            # StopValidation: a "required" validator would add 请填写金额。 to a
            # value that was typed, only not readable.
            raise StopValidation(self.money_error)
