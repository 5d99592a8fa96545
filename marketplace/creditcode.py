"""Unified social credit codes (统一社会信用代码), GB 32100-2015."""

from __future__ import annotations

from marketplace import identifiers

# The 31 characters of the code, in value order (no I, O, S, V or Z).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUES = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
REGISTRATION_AUTHORITIES = set("156789ANY")


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """A code as typed: half-width, upper case, blanks removed."""
    return identifiers.credit_code(code)


def credit_code_error(code: str) -> str | None:
    """Why a code is invalid, in Chinese, or None when it is valid."""
    code = normalise(code)
    if len(code) != 18:
        return "统一社会信用代码应为 18 位。"
    bad = sorted({c for c in code if c not in VALUES})
    if bad:
        return f"统一社会信用代码含有无效字符：{''.join(bad)}。"
    if code[0] not in REGISTRATION_AUTHORITIES:
        return "统一社会信用代码第 1 位（登记管理部门代码）无效。"
    if not code[2:8].isdigit():
        return "统一社会信用代码第 3–8 位应为行政区划代码。"
    if check_character(code[:17]) != code[17]:
        return "统一社会信用代码校验位不正确，请核对后重新输入。"
    return None


def is_valid_credit_code(code: str) -> bool:
    """Whether the code passes the GB 32100-2015 checks."""
    return credit_code_error(code) is None


def make_credit_code(region_code: str, serial: int, registration: str = "91") -> str:
    """A well-formed code for demo data and tests: prefix, region, serial, check."""
    body = f"{registration}{region_code[:6]}{serial:09d}"
    return body + check_character(body)
