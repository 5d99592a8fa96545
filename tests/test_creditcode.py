"""Unified social credit codes: GB 32100-2015 check characters."""

import pytest

from marketplace.creditcode import (
    ALPHABET,
    check_character,
    credit_code_error,
    is_valid_credit_code,
    make_credit_code,
)

# Codes printed on real business licences.
REAL_CODES = [
    "91350100M000100Y43",
    "914403001922038216",
    "9144030071526726XG",
    "91110000802100433B",
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass(code):
    assert is_valid_credit_code(code)
    assert is_valid_credit_code(code.lower())


@pytest.mark.parametrize("code", REAL_CODES)
def test_changed_check_character_fails(code):
    for replacement in ALPHABET:
        if replacement == code[-1]:
            continue
        changed = code[:-1] + replacement
        assert (
            credit_code_error(changed)
            == "统一社会信用代码校验位不正确，请核对后重新输入。"
        )


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("", "18 位"),
        ("91350100M000100Y4", "18 位"),
        ("91350100M000100Y433", "18 位"),
        ("91350100M00010OY43", "无效字符"),
        ("91350100M00010IY43", "无效字符"),
        ("B1350100M000100Y43", "登记管理部门"),
        ("9135A100M000100Y43", "行政区划"),
    ],
)
def test_malformed_codes_say_why(code, fragment):
    assert fragment in credit_code_error(code)


def test_generated_codes_are_valid_and_distinct():
    codes = {make_credit_code("411702", n) for n in range(1, 200)}
    assert len(codes) == 199
    assert all(is_valid_credit_code(c) for c in codes)


def test_check_character_matches_standard_example():
    assert check_character("91350100M000100Y4") == "3"
