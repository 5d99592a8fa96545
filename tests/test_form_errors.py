"""Forms say each error once: under its field, not again in a flash or twice over."""

from __future__ import annotations

import re

import pytest


def _messages(page: str) -> list[str]:
    """Every error shown on the page: field feedback, form alerts and flashes."""
    return [*_field_errors(page), *_alerts(page)]


def _field_errors(page: str) -> list[str]:
    return [
        m.strip() for m in re.findall(r'class="invalid-feedback[^"]*">([^<]+)<', page)
    ]


def _alerts(page: str) -> list[str]:
    return [
        m.strip() for m in re.findall(r'role="alert"[^>]*>\s*([^<\s][^<]*?)\s*<', page)
    ]


def _said_once(page: str) -> None:
    """No field repeats an error and no alert repeats a field's error."""
    blocks = re.findall(r'<div id="[\w-]+-error">(.*?)</div>\s*</div>', page, re.S)
    for block in blocks:
        found = re.findall(r'invalid-feedback[^"]*">([^<]+)', block)
        assert len(found) == len(set(found)) == 1, found
    assert not set(_field_errors(page)) & set(_alerts(page))


@pytest.mark.parametrize(
    ("amount", "message"),
    [("", "请填写金额。"), ("十万", None), ("-5", None)],
)
def test_target_form_says_each_error_once(bureau_client, amount, message):
    response = bureau_client.post(
        "/stats/targets", data={"year": "2026", "amount": amount}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    shown = _messages(page)
    assert len(shown) == 1, shown
    _said_once(page)
    if message:
        assert shown == [message] and page.count(message) == 1
    else:
        # A typed but unreadable amount is not "missing" as well.
        assert "请填写金额。" not in page


def test_contract_form_says_each_error_once(enterprise_client):
    response = enterprise_client.post("/contracts/new", data={"amount": "abc"})
    page = response.get_data(as_text=True)
    assert "金额只能是不带单位的非负数字" in page
    _said_once(page)
