"""Checking the rows of a listings import, a batch at a time (importing.py writes)."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.listings.import_files import COLUMNS, RawRow
from marketplace.listings.states import MAX_VALID_YEARS, deadline_too_far, years_ahead
from marketplace.models import TechField
from marketplace.money import MoneyError, parse_wan

KINDS = {"result": "科技成果", "challenge": "技术需求"}
MAX_KEYWORDS, MAX_KEYWORD_LEN = 30, 50
MAX_TEXT = 20_000
KEYWORD_SPLIT = re.compile(r"[、，,;；\s]+")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- reading files -------------------------------------------------------------


class _Bad(ValueError):
    """One reason a row is refused."""


def _text(value: Any, name: str, limit: int, multiline: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Bad(f"{name} 应为文本")
    if isinstance(value, float):
        value = int(value) if value.is_integer() else value
    text = str(value).strip()
    for char in text:
        if multiline and char in "\n\r\t":
            continue
        if unicodedata.category(char) in {"Cc", "Cs"} or char in "\u2028\u2029":
            raise _Bad(f"{name} 含有不允许的控制字符")
    if len(text) > limit:
        raise _Bad(f"{name} 超过 {limit} 字")
    return text


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise _Bad("keywords 不是有效的 JSON 列表") from exc
    if value is None or isinstance(value, str):
        items = KEYWORD_SPLIT.split(value or "")
    elif isinstance(value, list):
        items = [_text(item, "keywords", MAX_KEYWORD_LEN) for item in value]
    else:
        raise _Bad("keywords 应为列表或文本")
    words = list(dict.fromkeys(w.strip() for w in items if w and w.strip()))
    if len(words) > MAX_KEYWORDS:
        raise _Bad(f"keywords 最多 {MAX_KEYWORDS} 个")
    for word in words:
        _text(word, "keywords", MAX_KEYWORD_LEN)
    return words


def _maturity(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9:
        raise _Bad("maturity 应为 1–9 的整数")
    return value


def _price(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Bad("price_wan 应为数字")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Bad("price_wan 必须是有限的数字")
    try:
        return parse_wan(str(value))
    except MoneyError as exc:
        raise _Bad(f"price_wan：{exc}") from exc


def _date(value: Any, name: str, today: date) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        value = value.date()
    elif isinstance(value, str) and ISO_DATE.match(value.strip()):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError as exc:
            raise _Bad(f"{name} 不是有效的日期") from exc
    if not isinstance(value, date):
        raise _Bad(f"{name} 应为 YYYY-MM-DD 格式的日期")
    if value < today:
        raise _Bad(f"{name} 不能早于今天")
    if name == "deadline" and (problem := deadline_too_far(value, today)):
        raise _Bad(f"deadline：{problem}")
    if name == "valid_until" and value > years_ahead(MAX_VALID_YEARS, today):
        raise _Bad(f"valid_until 最远为 {MAX_VALID_YEARS} 年后")
    return value


def _check_row(kind: str, data: dict[str, Any], ctx: dict[str, Any]) -> dict:
    """The model columns of one row; raises _Bad with every reason joined."""
    reasons: list[str] = []
    out: dict[str, Any] = {}

    def take(name: str, check: Callable[[Any], Any], source: str = "") -> None:
        try:
            out[name] = check(data.get(source or name))
        except _Bad as exc:
            reasons.append(str(exc))

    for name in sorted(set(data) - COLUMNS[kind]):
        if data[name] not in (None, ""):
            reasons.append(f"{KINDS[kind]}没有 {name} 列")
    take("title", lambda v: _text(v, "title", 200))
    take("description", lambda v: _text(v, "description", MAX_TEXT, multiline=True))
    for name in ("title", "description"):
        if out.get(name) == "":
            reasons.append(f"缺少 {name}")
    take("external_id", lambda v: _text(v, "external_id", 64) or None)
    take("keywords", _keywords)
    take("field_id", lambda v: _field_id(v, ctx["fields"]), "field")
    take("price_fen", _price, "price_wan")
    if kind == "result":
        take("discipline", lambda v: _text(v, "discipline", 60))
        take("trl", _maturity, "maturity")
        take("valid_until", lambda v: _date(v, "valid_until", ctx["today"]))
    else:
        take("deadline", lambda v: _date(v, "deadline", ctx["today"]))
        if not ctx["draft"] and "deadline" in out and out["deadline"] is None:
            reasons.append("缺少 deadline（发布的技术需求必须有揭榜截止日期）")
    if reasons:
        raise _Bad("；".join(reasons))
    return out


def _field_id(value: Any, fields: dict[str, int]) -> int | None:
    name = _text(value, "field", 60)
    if not name:
        return None
    if name not in fields:
        raise _Bad(f"field 不是已知的技术领域：{name}")
    return fields[name]


class Checker:
    """Checks rows chunk by chunk, remembering external_ids across the file."""

    def __init__(self, kind: str, draft: bool):
        fields: dict[str, int] = {}
        for tech in db.session.scalars(select(TechField)):
            fields[tech.name] = fields[tech.code] = tech.id
        self.kind = kind
        self.ctx = {"fields": fields, "today": local_today(), "draft": draft}
        self.seen: dict[str, int] = {}
        self.errors: list[tuple[int, str]] = []

    def check(self, rows: Iterable[RawRow]) -> list[tuple[RawRow, dict]]:
        """The good rows with their model values; the bad ones go to errors."""
        good = []
        for row in rows:
            try:
                values = _check_row(self.kind, row.data, self.ctx)
            except _Bad as exc:
                self.errors.append((row.line, str(exc)))
                continue
            ext = values["external_id"]
            if ext is not None and ext in self.seen:
                self.errors.append(
                    (row.line, f"external_id {ext} 与第 {self.seen[ext]} 行重复")
                )
                continue
            if ext is not None:
                self.seen[ext] = row.line
            good.append((row, values))
        return good


def chunks(rows: Iterable[RawRow], size: int) -> Iterator[list[RawRow]]:
    chunk: list[RawRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
