"""Loading the replaceable reference data: regions and technology fields."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Region, RegionKind, TechField

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_REGIONS = DATA_DIR / "regions.json"
DEFAULT_FIELDS = DATA_DIR / "tech_fields.json"
DISCIPLINES_FILE = DATA_DIR / "csl_disciplines.json"


class ReferenceDataError(ValueError):
    """A reference data file that cannot be loaded."""


def _read_regions(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ReferenceDataError(f"{path}: {exc}") from exc
    rows = data.get("regions") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ReferenceDataError(f"{path}: expected an object with a 'regions' list")
    kinds = {k.value for k in RegionKind}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not row.get("code") or not row.get("name"):
            raise ReferenceDataError(f"{path}: region {number} needs code and name")
        if row.get("kind") not in kinds:
            raise ReferenceDataError(
                f"{path}: region {number} kind must be one of {', '.join(kinds)}"
            )
    return rows


def load_regions(path: Path = DEFAULT_REGIONS) -> int:
    """Insert or update the regions listed in the file; returns how many."""
    rows = _read_regions(Path(path))
    existing = {r.code: r for r in db.session.scalars(select(Region))}
    for order, row in enumerate(rows):
        region = existing.get(row["code"]) or Region(code=row["code"])
        region.name = row["name"]
        region.kind = RegionKind(row["kind"])
        region.sort_order = order
        db.session.add(region)
    return len(rows)


def load_fields(path: Path = DEFAULT_FIELDS) -> int:
    """Insert or update the technology fields; returns how many."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    existing = {f.code: f for f in db.session.scalars(select(TechField))}
    for order, row in enumerate(rows):
        field = existing.get(row["code"]) or TechField(code=row["code"])
        field.name = row["name"]
        field.sort_order = order
        db.session.add(field)
    return len(rows)


def region_options() -> list[tuple[str, str]]:
    """(code, name) pairs of every region in display order."""
    regions = db.session.scalars(select(Region).order_by(Region.sort_order))
    return [(r.code, r.name) for r in regions]


def load_reference_data(regions_path: Path = DEFAULT_REGIONS) -> tuple[int, int]:
    """Load regions and fields; the caller commits."""
    return load_regions(regions_path), load_fields()


@cache
def discipline_fields() -> tuple[dict[str, str], dict[str, str], str]:
    """CSL discipline → field code, category → field code, and the default field."""
    data = json.loads(DISCIPLINES_FILE.read_text(encoding="utf-8"))
    by_discipline = {row["discipline"]: row["field"] for row in data["disciplines"]}
    return by_discipline, dict(data["category_fields"]), data["default_field"]


def field_code_for(record: dict) -> str:
    """The technology field code of a CSL record: discipline, then category."""
    by_discipline, by_category, default = discipline_fields()
    return by_discipline.get(record.get("discipline", "")) or by_category.get(
        record.get("category", ""), default
    )
