"""Bulk import of listings (`flask import-listings`, the bureau's upload page).

A file (JSONL, CSV or XLSX) is read into rows and checked a batch at a time; each
batch is written inside a savepoint while every row so far is good (new rows
inserted, rows whose `external_id` the organisation already used updated in
place), and one bad row anywhere rolls the savepoint back: all or nothing, in one
pass. Nothing commits here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update

from marketplace import audit, permissions
from marketplace.clock import local_today, utcnow
from marketplace.exceptions import ServiceError
from marketplace.extensions import db
from marketplace.listings.import_checks import KINDS, Checker, chunks
from marketplace.listings.import_files import (  # noqa: F401  (callers use these)
    COLUMNS,
    KNOWN,
    ImportRefused,
    ParsedFile,
    RawRow,
    parse_file,
)
from marketplace.models import (
    Challenge,
    ChallengeStatus,
    Organisation,
    Result,
    ResultStatus,
)
from marketplace.search import outbox

SUMMARY_LEN = 200
BATCH = 1000
ALL_BIDDER_KINDS = ["enterprise", "university", "institute", "agency"]


@dataclass
class ImportReport:
    """What an import wrote."""

    added: int = 0
    updated: int = 0
    ids: list[int] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


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
    rows: Iterable[RawRow],
    *,
    draft: bool = False,
    user: Any = None,
    source: str = "",
    progress: Callable[[int], Any] | None = None,
    errors: Iterable[tuple[int, str]] = (),
) -> ImportReport:
    """Check and insert or update the rows a batch at a time; the caller commits.

    `rows` may be an iterator over a file being read. Raises ImportRefused
    (nothing written) when any row, or `errors` found while reading, is bad.
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
    # A streamed file's reader appends to `errors` as it reads.
    problems = errors if isinstance(errors, list) else list(errors)
    checker = Checker(kind, draft)
    report = ImportReport()
    # One pass: rows are checked and written a batch at a time (a file of any
    # size needs no more memory than a batch); after the first bad row the rest
    # are only checked, and the savepoint's rollback drops what was written.
    savepoint = db.session.begin_nested()
    try:
        for chunk in chunks(rows, BATCH):
            good = checker.check(chunk)
            if good and not (problems or checker.errors):
                _write(org, kind, good, draft=draft, report=report)
            if progress:
                progress(len(chunk))
        found = sorted([*problems, *checker.errors], key=lambda item: item[0])
        if found:
            raise ImportRefused([f"第 {line} 行: {reason}" for line, reason in found])
        if not report.ids:
            raise ImportRefused(["文件中没有可导入的数据行。"])
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    _audit(org, kind, report, draft=draft, user=user, source=source)
    return report


def _write(org, kind, good, *, draft, report: ImportReport) -> None:
    """Insert the new rows and update the known ones of one checked batch."""
    model = Result if kind == "result" else Challenge
    live = ResultStatus.PUBLISHED if kind == "result" else ChallengeStatus.OPEN
    draft_state = ResultStatus.DRAFT if kind == "result" else ChallengeStatus.DRAFT
    today, now = local_today(), utcnow()
    date_name = "valid_until" if kind == "result" else "deadline"
    known = _existing(
        model, org.id, [v["external_id"] for _, v in good if v["external_id"]]
    )
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
    if new_rows:
        ids = db.session.scalars(insert(model).returning(model.id), new_rows).all()
        _outbox(kind, ids, report)
        report.added += len(ids)
    if changed:
        db.session.execute(update(model), changed)
        _outbox(kind, [c["id"] for c in changed], report)
        report.updated += len(changed)


def _audit(org, kind, report, *, draft, user, source) -> None:
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
