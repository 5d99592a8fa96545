"""The problem box: a free-text description of a technical problem."""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import DataRequired, ValidationError

from marketplace.forms_common import BaseForm, SafeText

MAX_TEXT = 2000


def normalise_text(value):
    """Browsers send line breaks as CRLF: count one as one character, and trim."""
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def too_long(text: str) -> str:
    """The refusal for a description over the limit ("" when it fits)."""
    if len(text) <= MAX_TEXT:
        return ""
    return f"描述不超过 {MAX_TEXT} 字：您输入了 {len(text)} 字，请删减后再提交。"


def _within_limit(form, field) -> None:
    message = too_long(field.data or "")
    if message:
        raise ValidationError(message)


class ProblemForm(BaseForm):
    """What a visitor types into the problem box (posted, so it may be long)."""

    text = TextAreaField(
        "技术问题描述",
        filters=[normalise_text],
        validators=[
            DataRequired(message="请描述您遇到的技术问题。"),
            _within_limit,
            SafeText(multiline=True),
        ],
    )
