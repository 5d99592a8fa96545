"""Bulk import of listings (`flask import-listings`, the bureau's upload page).

A file (JSONL, CSV or XLSX) is read into rows, every row is checked, and only when
all of them are good are the listings written: new rows inserted, rows whose
`external_id` the organisation already used updated in place. Nothing commits here.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, or_, select, update

from marketplace import audit, permissions
from marketplace.creditcode import normalise
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.listings.import_files import (  # noqa: F401  (callers use these)
    COLUMNS,
    FORMATS,
    KNOWN,
    ImportRefused,
    ParsedFile,
    RawRow,
    parse_file,
)
from marketplace.listings.states import (
    MAX_VALID_YEARS,
    deadline_too_far,
    local_today,
    years_ahead,
)
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Organisation,
    Result,
    ResultStatus,
    TechField,
    utcnow,
)
from marketplace.money import MoneyError, parse_wan
from marketplace.search import outbox

KINDS = {"result": "科技成果", "challenge": "技术需求"}
MAX_KEYWORDS, MAX_KEYWORD_LEN = 30, 50
MAX_TEXT = 20_000
SUMMARY_LEN = 200
BATCH = 250
KEYWORD_SPLIT = re.compile(r"[、，,;；\s]+")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ALL_BIDDER_KINDS = ["enterprise", "university", "institute", "agency"]


@dataclass
class ImportReport:
    """What an import wrote."""

    added: int = 0
    updated: int = 0
    ids: list[int] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def find_org(ref: str) -> Organisation:
    """An organisation by exact name or credit code."""
    ref = (ref or "").strip()
    org = db.session.scalar(
        select(Organisation).where(
            or_(Organisation.name == ref, Organisation.credit_code == normalise(ref))
        )
    )
    if org is None:
        raise ServiceError(f"找不到机构：{ref}（请输入准确的机构名称或信用代码）。")
    return org


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


def _check_all(kind, rows, draft, errors) -> list[tuple[RawRow, dict]]:
    fields: dict[str, int] = {}
    for tech in db.session.scalars(select(TechField)):
        fields[tech.name] = fields[tech.code] = tech.id
    ctx = {"fields": fields, "today": local_today(), "draft": draft}
    seen: dict[str, int] = {}
    good = []
    for row in rows:
        try:
            values = _check_row(kind, row.data, ctx)
        except _Bad as exc:
            errors.append((row.line, str(exc)))
            continue
        ext = values["external_id"]
        if ext is not None and ext in seen:
            errors.append((row.line, f"external_id {ext} 与第 {seen[ext]} 行重复"))
            continue
        if ext is not None:
            seen[ext] = row.line
        good.append((row, values))
    return good


# --- writing ----------------------------------------------------------------------


def _two_years_on(today: date) -> date:
    try:
        return today.replace(year=today.year + 2)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 2, day=28)


def _model_values(kind: str, values: dict) -> dict:
    description = values.pop("description")
    if kind == "result":
        values["abstract"] = description
    else:
        values["description"] = description
        values["public_summary"] = description[:SUMMARY_LEN]
        values["bounty_fen"] = values.pop("price_fen")
    return values


def _existing(model, org_id: int, external_ids: list[str]) -> dict[str, Any]:
    found = {}
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start : start + 500]
        for row in db.session.execute(
            select(model.id, model.external_id, model.status, _date_col(model)).where(
                model.org_id == org_id, model.external_id.in_(chunk)
            )
        ):
            found[row[1]] = row
    return found


def _date_col(model):
    return model.valid_until if model is Result else model.deadline


def _publish_on_update(kind: str, status: str, values: dict) -> dict:
    """Status changes an update without --draft makes (not-yet-public → public)."""
    unpublished = {"draft", "rejected", "pending_review"}
    renewable = kind == "result" and status == ResultStatus.EXPIRED
    if status not in unpublished and not renewable:
        return {}
    if kind == "result" and values.get("valid_until") is None:
        return {}
    return {
        "status": ResultStatus.PUBLISHED if kind == "result" else ChallengeStatus.OPEN,
        "published_at": utcnow(),
        "reject_reason_code": None,
        "reject_note": "",
        "reminded_at": None,
    }


def import_rows(
    org: Organisation,
    kind: str,
    rows: list[RawRow],
    *,
    draft: bool = False,
    user: Any = None,
    source: str = "",
    progress: Callable[[int], Any] | None = None,
    errors: Iterable[tuple[int, str]] = (),
) -> ImportReport:
    """Check every row, then insert or update them all; the caller commits.

    Raises ImportRefused (nothing written) when any row, or `errors` found while
    reading the file, is bad.
    """
    if kind not in KINDS:
        raise ServiceError("类型只能是 result 或 challenge。", "kind")
    allowed = (
        permissions.RESULT_OWNER_KINDS
        if kind == "result"
        else permissions.CHALLENGE_POSTER_KINDS
    )
    if org.kind not in allowed:
        fits = "、".join(k.label for k in sorted(allowed))
        raise ServiceError(
            f"{KINDS[kind]}只能导入给{fits}，{org.name} 是{org.kind_label}。", "org_id"
        )
    if not draft and not org.verified:
        raise ServiceError(f"{org.name} 尚未通过审核，只能以草稿导入。", "draft")
    problems = list(errors)
    good = _check_all(kind, rows, draft, problems)
    if problems:
        problems.sort(key=lambda item: item[0])
        raise ImportRefused([f"第 {line} 行: {reason}" for line, reason in problems])
    if not good:
        raise ImportRefused(["文件中没有可导入的数据行。"])
    return _write(org, kind, good, draft=draft, user=user, source=source, tick=progress)


def _write(org, kind, good, *, draft, user, source, tick) -> ImportReport:
    model = Result if kind == "result" else Challenge
    live = ResultStatus.PUBLISHED if kind == "result" else ChallengeStatus.OPEN
    draft_state = ResultStatus.DRAFT if kind == "result" else ChallengeStatus.DRAFT
    today, now = local_today(), utcnow()
    date_name = "valid_until" if kind == "result" else "deadline"
    known = _existing(
        model, org.id, [v["external_id"] for _, v in good if v["external_id"]]
    )
    report = ImportReport()
    new_rows, changed = [], []
    for row, values in good:
        values = _model_values(kind, values)
        old = known.get(values["external_id"]) if values["external_id"] else None
        if old is not None:
            if values[date_name] is None:
                values[date_name] = old[3] or (
                    _two_years_on(today) if kind == "result" else None
                )
            if not draft:
                values.update(_publish_on_update(kind, old[2], values))
            if values[date_name] != old[3]:
                values["reminded_at"] = None
            changed.append({"id": old[0], "updated_at": now, **values})
            continue
        if kind == "result" and values["valid_until"] is None:
            values["valid_until"] = _two_years_on(today)
        if kind == "challenge":
            # New challenges are open to every kind of bidder, in the owner's county.
            values["allowed_bidder_kinds"] = list(ALL_BIDDER_KINDS)
            values["region_code"] = org.region_code
        new_rows.append(
            {
                "org_id": org.id,
                "status": draft_state if draft else live,
                "published_at": None if draft else now,
                **values,
                **(row.extra or {}),
            }
        )
    columns = set(model.__table__.columns.keys())
    for values in (*new_rows, *changed):
        # Bulk statements skip unknown keys silently; a typo must not lose data.
        if not values.keys() <= columns:
            raise ValueError(f"unknown columns: {sorted(values.keys() - columns)}")
    for start in range(0, len(new_rows), BATCH):
        chunk = new_rows[start : start + BATCH]
        ids = db.session.scalars(insert(model).returning(model.id), chunk).all()
        _outbox(kind, ids, report)
        report.added += len(ids)
        if tick:
            tick(len(chunk))
    for start in range(0, len(changed), BATCH):
        chunk = changed[start : start + BATCH]
        db.session.execute(update(model), chunk)
        _outbox(kind, [c["id"] for c in chunk], report)
        report.updated += len(chunk)
        if tick:
            tick(len(chunk))
    state = "草稿" if draft else "已发布"
    audit.record(
        f"{kind}s_imported",
        user=user,
        org_id=org.id,
        obj=org,
        note=f"{source or '数据'}：新增 {report.added} 条，更新 {report.updated} 条"
        f"（新增为{state}）",
    )
    audit.notify_org(
        org.id,
        f"已批量导入{KINDS[kind]}：新增 {report.added} 条，更新 {report.updated} 条"
        f"（新增为{state}）。",
    )
    return report


def _outbox(kind: str, ids: list[int], report: ImportReport) -> None:
    # Written at commit with the listings, in commit order (search/outbox.py).
    outbox.enqueue(db.session, kind, ids)
    report.ids.extend(ids)


def import_file(
    org: Organisation,
    kind: str,
    data: bytes,
    filename: str,
    **options: Any,
) -> ImportReport:
    """Read a file and import it (see import_rows); the caller commits."""
    parsed = parse_file(data, filename)
    report = import_rows(
        org, kind, parsed.rows, source=filename, errors=parsed.errors, **options
    )
    report.ignored = parsed.ignored
    return report
