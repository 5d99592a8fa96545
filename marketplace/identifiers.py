"""Identifiers and figures as typed or pasted, normalised before any check.

Registration numbers, credit codes, phone numbers and amounts arrive with
surrounding blanks, full-width digits (１２３) or ideographic spaces from Word
and WeChat. Every form, service, import and the API passes them through here
first, so that a length check sees the real value and refuses it whole
instead of a browser's maxlength or a column cutting it short.
"""

from __future__ import annotations

import re

from marketplace.exceptions import ServiceError

# Full-width ASCII (U+FF01–U+FF5E) to ASCII, the ideographic space to a space.
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Zero-width characters that come along with pasted text and are never content.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_BLANKS = re.compile(r"\s+")

REGISTRATION_NO = re.compile(r"^[0-9]{14,16}$")
PHONE = re.compile(r"^[0-9+\-()/,转]*$")
MAX_PHONE = 40


def halfwidth(text: str | None) -> str:
    """Full-width letters, digits and signs as ASCII; zero-width marks dropped."""
    if not isinstance(text, str):
        return ""
    return text.translate(_HALFWIDTH).translate(_INVISIBLE)


def compact(text: str | None) -> str:
    """Half-width with every blank removed: for values that never hold a space."""
    return _BLANKS.sub("", halfwidth(text))


def registration_no(text: str | None) -> str:
    """A contract registration number as typed, digits only when well formed."""
    return compact(text)


def credit_code(text: str | None) -> str:
    """A unified social credit code as typed, upper case, no blanks."""
    return compact(text).upper()


def phone(text: str | None) -> str:
    """A phone number without blanks; full-width signs （）＋－ as ASCII."""
    return compact(text)


def amount_text(text: str | None) -> str:
    """An amount's text trimmed, with full-width digits, point and comma as ASCII."""
    return halfwidth(text).strip()


def registration_no_error(value: str) -> str | None:
    """Why a normalised registration number is refused, or None."""
    if not REGISTRATION_NO.match(value):
        digits = sum(c.isdigit() for c in value)
        if value.isdigit():
            return f"登记号应为 14–16 位数字，现为 {digits} 位，请核对后重新输入。"
        return "登记号应为 14–16 位数字，不能含有字母或其他符号。"
    return None


def phone_error(value: str, label: str = "联系电话") -> str | None:
    """Why a normalised phone number is refused, or None (blank is allowed)."""
    if len(value) > MAX_PHONE:
        return f"{label}不能超过 {MAX_PHONE} 个字符（现为 {len(value)} 个）。"
    if not PHONE.match(value):
        return f"{label}只能包含数字和 + - ( ) / 转 等符号。"
    return None


def check_phone(value: str | None, field: str = "contact_phone") -> str:
    """The normalised phone number, or a ServiceError naming the field."""
    number = phone(value)
    error = phone_error(number)
    if error:
        raise ServiceError(error, field)
    return number
