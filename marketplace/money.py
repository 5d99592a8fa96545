"""Money in integer fen: parsing from 元/万元 text and formatting as 万元."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from marketplace.identifiers import amount_text

FEN_PER_WAN = 1_000_000
# 10 million 万元: larger figures are typing mistakes, not contracts.
MAX_WAN = Decimal("10000000")
_PLAIN_NUMBER = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
# Commas only as thousands separators, every group of three: "1,234.5". "5,0"
# (a decimal comma) or "12,34" would otherwise silently become 50 or 1234.
_GROUPED_NUMBER = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,6})?$")
AMBIGUOUS_COMMA = (
    "金额中的逗号只能作千位分隔符，每组三位数字（如 1,234.5）；"
    "小数请用小数点“.”，例如 5.0。"
)


class MoneyError(ValueError):
    """A money amount that cannot be accepted; the message is for the user."""


def _parse(text: str | None, unit_fen: int, max_units: Decimal) -> int:
    # Full-width digits and blanks (１２．５、ideographic spaces) are normalised first.
    raw = amount_text(text)
    if not raw:
        raise MoneyError("请输入金额。")
    if "," in raw:
        if not _GROUPED_NUMBER.match(raw):
            raise MoneyError(AMBIGUOUS_COMMA)
        raw = raw.replace(",", "")
    if not _PLAIN_NUMBER.match(raw):
        raise MoneyError("金额只能是不带单位的非负数字，例如 12.5。")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the regex already refused
        raise MoneyError("金额格式不正确。") from exc
    if value > max_units:
        raise MoneyError("金额过大，请检查单位是否正确。")
    fen = (value * unit_fen).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if fen != value * unit_fen:
        raise MoneyError("金额最小单位为分。")
    return int(fen)


def parse_wan(text: str | None) -> int:
    """Parse an amount in 万元 into fen; refuses NaN, exponents, negatives, excess."""
    return _parse(text, FEN_PER_WAN, MAX_WAN)


def fen_to_wan_str(fen: int | None) -> str:
    """Fen as a plain 万元 figure with up to six decimals, trailing zeros removed."""
    if fen is None:
        return ""
    text = f"{Decimal(fen) / FEN_PER_WAN:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def format_wan(fen: int | None, negotiable: str = "面议") -> str:
    """Fen shown as 万元 with two decimals, or 面议 when there is no figure."""
    if fen is None:
        return negotiable
    wan = (Decimal(fen) / FEN_PER_WAN).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{wan:,.2f} 万元"
