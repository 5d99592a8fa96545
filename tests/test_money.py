"""Money parsing: integer fen, refusing anything that is not a plain amount."""

import pytest

from marketplace.money import (
    MoneyError,
    fen_to_wan_str,
    format_wan,
    parse_wan,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0", 0),
        ("0.01", 10_000),
        ("12.5", 12_500_000),
        ("1,234", 1_234_000_000),
        ("1,234,567.5", 1_234_567_500_000),
        ("1，234", 1_234_000_000),
        ("9999999.99", 9_999_999_990_000),
        ("10000000", 10_000_000_000_000),
        (" 3 ", 3_000_000),
    ],
)
def test_parse_wan(text, fen):
    assert parse_wan(text) == fen


@pytest.mark.parametrize(
    "text",
    [
        "",
        "NaN",
        "nan",
        "inf",
        "Infinity",
        "-1",
        "-0",
        "1e3",
        "1E+400",
        "10000000.01",
        "12万",
        "abc",
        "0x10",
        "1.0000001",
        "٣",
        # A comma only groups thousands: "5,0" is not 50 万元.
        "5,0",
        "12,34",
        "1,2345",
        "5,",
        ",500",
    ],
)
def test_parse_wan_refuses(text):
    with pytest.raises(MoneyError):
        parse_wan(text)


def test_format_wan():
    assert format_wan(None) == "面议"
    assert format_wan(12_345_678) == "12.35 万元"
    assert format_wan(9_999_999_990_000) == "9,999,999.99 万元"
    assert fen_to_wan_str(12_500_000) == "12.5"
    assert fen_to_wan_str(0) == "0"
