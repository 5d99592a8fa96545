"""Reading import files (JSONL, CSV, XLSX) into numbered rows, before any checking."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from marketplace.exceptions import ServiceError
from marketplace.file_checks import (
    UPLOAD_IMPORT,
    FileRefused,
    SheetLimits,
    check_workbook,
    open_checked_zip,
)

COMMON = ("title", "description", "external_id", "keywords", "field", "price_wan")
COLUMNS = {
    "result": frozenset((*COMMON, "discipline", "maturity", "valid_until")),
    "challenge": frozenset((*COMMON, "deadline")),
}
KNOWN = COLUMNS["result"] | COLUMNS["challenge"]
# Other spellings of the column names, including the Chinese ones people type.
ALIASES = {
    "abstract": "description",
    "id": "external_id",
    "标题": "title",
    "名称": "title",
    "描述": "description",
    "简介": "description",
    "摘要": "description",
    "编号": "external_id",
    "关键词": "keywords",
    "技术领域": "field",
    "学科": "discipline",
    "成熟度": "maturity",
    "价格": "price_wan",
    "榜额": "price_wan",
    "有效期": "valid_until",
    "截止日期": "deadline",
}


class ImportRefused(ServiceError):
    """The file has bad rows; `errors` are '第 N 行: reason' lines, in order."""

    def __init__(self, errors: list[str]):
        super().__init__(f"文件中有 {len(errors)} 处错误，未导入任何数据。")
        self.errors = errors


class RawRow(NamedTuple):
    """One row as read: its line number, its values, and trusted model values."""

    line: int
    data: dict[str, Any]
    # Columns set by code rather than by a file (seed-demo's dates and terms).
    extra: dict[str, Any] | None = None


@dataclass
class ParsedFile:
    """A file read into rows, with the problems found while reading."""

    rows: list[RawRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _column(name: Any) -> str:
    key = str(name or "").strip().lstrip("\ufeff").strip()
    return ALIASES.get(key, ALIASES.get(key.lower(), key.lower()))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(["文件不是 UTF-8 编码，请另存为 UTF-8 后再导入。"]) from exc


def _refuse(limits: SheetLimits, problem: str) -> ImportRefused:
    return ImportRefused([f"{problem}，未导入。{limits.hint}"])


def _too_many(number: int, limits: SheetLimits) -> None:
    if limits.max_rows is not None and number > limits.max_rows + 1:
        raise _refuse(limits, f"一次最多导入 {limits.max_rows} 行数据")


def _read_jsonl(data: bytes, parsed: ParsedFile, limits: SheetLimits) -> None:
    # Only \n ends a line: JSON strings may hold U+2028 and the like, which
    # str.splitlines() would count as line breaks the user never sees.
    parsed.rows.extend(_jsonl_rows(_decode(data).split("\n"), parsed, limits))


def _jsonl_rows(
    lines: Iterable[str], parsed: ParsedFile, limits: SheetLimits
) -> Iterator[RawRow]:
    for number, line in enumerate(lines, start=1):
        _too_many(number, limits)
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            parsed.errors.append((number, "不是有效的 JSON 对象"))
            continue
        yield RawRow(number, value)


def _table(
    rows: Iterable[tuple[int, list[Any]]],
    parsed: ParsedFile,
    column: Callable[[Any], str] = _column,
    required: tuple[str, ...] = ("title", "description"),
    limits: SheetLimits = UPLOAD_IMPORT,
) -> None:
    """Rows of cells under a header row (CSV, XLSX); see _table_rows."""
    parsed.rows.extend(_table_rows(rows, parsed, column, required, limits))


def _table_rows(
    rows: Iterable[tuple[int, list[Any]]],
    parsed: ParsedFile,
    column: Callable[[Any], str],
    required: tuple[str, ...],
    limits: SheetLimits,
) -> Iterator[RawRow]:
    """Rows of cells under a header row (CSV, XLSX); the header is line 1.

    `column` turns a header cell into a column name; the columns in `required`
    must all be in the header. Reading stops at the first row over a limit.
    """
    header: list[str] | None = None
    seen = 0
    for number, cells in rows:
        _too_many(number, limits)
        while cells and cells[-1] in (None, ""):
            cells.pop()  # trailing blanks: formatting, not data
        if len(cells) > limits.max_columns:
            raise _refuse(limits, f"第 {number} 行超过 {limits.max_columns} 列")
        seen += len(cells)
        if limits.max_cells is not None and seen > limits.max_cells:
            raise _refuse(limits, f"超过 {limits.max_cells} 个单元格")
        if header is None:
            header = [column(c) for c in cells]
            while header and not header[-1]:
                header.pop()
            names = [h for h in header if h]
            if len(set(names)) != len(names):
                raise ImportRefused([f"第 {number} 行: 表头中有重复的列名"])
            missing = [name for name in required if name not in header]
            if missing:
                raise ImportRefused(
                    [f"第 {number} 行: 表头缺少 {'、'.join(missing)} 列"]
                )
            continue
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        extra = [c for c in cells[len(header) :] if c not in (None, "")]
        if extra:
            parsed.errors.append((number, "单元格数多于表头列数"))
            continue
        yield RawRow(number, {h: c for h, c in zip(header, cells, strict=False) if h})
    if header is None:
        raise ImportRefused(["文件是空的：第 1 行应为表头。"])


def read_csv(data: bytes, parsed: ParsedFile, **table: Any) -> None:
    """Read a CSV file's rows under its header (`table`: _table's options)."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    try:
        _table(enumerate(reader, start=1), parsed, **table)
    except csv.Error as exc:
        raise ImportRefused([f"CSV 格式错误：{exc}"]) from exc


@contextlib.contextmanager
def _workbook_rows(source: Callable[[], Any], size: int, limits: SheetLimits):
    """The first sheet's numbered rows of a checked .xlsx; refusals in Chinese.

    `source()` opens the file afresh (a path, or bytes in a new buffer): the
    zip check reads it once before openpyxl does.
    """
    from openpyxl import load_workbook

    book = None
    try:
        with open_checked_zip(source(), size, limits.archive) as archive:
            check_workbook(archive, limits)
        book = load_workbook(source(), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        # A declared size (the file's own word) pads every row to its width,
        # up to 16384 columns; without it, rows are as long as their cells.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        yield ((n, list(r)) for n, r in enumerate(rows, 1))
    except FileRefused as exc:
        raise _refuse(limits, f"Excel 文件{exc.message}") from exc
    except ImportRefused:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ImportRefused(["无法读取 Excel 文件，请确认是 .xlsx 格式。"]) from exc
    finally:
        if book is not None:
            book.close()


def read_xlsx(
    data: bytes, parsed: ParsedFile, limits: SheetLimits = UPLOAD_IMPORT, **table: Any
) -> None:
    """Read the first sheet of an .xlsx file under its header row, streaming."""
    with _workbook_rows(lambda: io.BytesIO(data), len(data), limits) as numbered:
        _table(numbered, parsed, limits=limits, **table)


def parse_table(
    data: bytes,
    filename: str,
    limits: SheetLimits = UPLOAD_IMPORT,
    *,
    columns: Iterable[str],
    column: Callable[[Any], str],
    required: Iterable[str],
) -> ParsedFile:
    """Read a .csv or .xlsx table into rows, keeping only the known columns."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    readers = {".csv": read_csv, ".xlsx": read_xlsx}
    if suffix not in readers:
        raise ServiceError("只能导入 .csv 或 .xlsx 文件。", "file")
    parsed = ParsedFile()
    readers[suffix](data, parsed, column=column, required=required, limits=limits)
    known = set(columns)
    ignored: set[str] = set()
    for row in parsed.rows:
        unknown = [name for name in row.data if name not in known]
        ignored.update(unknown)
        for name in unknown:
            del row.data[name]
    parsed.ignored = sorted(ignored)
    return parsed


def cell_text(value: Any) -> str:
    """A cell as stripped text; whole numbers Excel stored as floats lose the .0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number or code Excel stored as a number
    return str(value).strip()


def parse_file(
    data: bytes, filename: str, limits: SheetLimits = UPLOAD_IMPORT
) -> ParsedFile:
    """Read a .jsonl, .csv or .xlsx file into rows; the format follows the name.

    `limits` are the upload page's unless the caller (a command) passes others.
    """
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    readers = {".jsonl": _read_jsonl, ".csv": read_csv, ".xlsx": read_xlsx}
    if suffix not in readers:
        raise ServiceError("只能导入 .jsonl、.csv 或 .xlsx 文件。", "file")
    parsed = ParsedFile()
    readers[suffix](data, parsed, limits=limits)
    parsed.rows = list(_known_rows(parsed.rows, parsed))
    return parsed


def _known_rows(rows: Iterable[RawRow], parsed: ParsedFile) -> Iterator[RawRow]:
    """Rows with the known columns under their own names; the rest go to ignored."""
    ignored: set[str] = set(parsed.ignored)
    for row in rows:
        values = {}
        for key, value in row.data.items():
            name = _column(key)
            if name in KNOWN:
                if name in values:
                    parsed.errors.append((row.line, f"{name} 重复出现"))
                values[name] = value
            elif str(key) not in ignored:
                ignored.add(str(key))
                parsed.ignored = sorted(ignored)
        yield RawRow(row.line, values)


# --- checking values --------------------------------------------------------------


# --- reading from disk, a row at a time --------------------------------------------


def stream_file(path: Path, limits: SheetLimits) -> ParsedFile:
    """Read a file from disk lazily: `rows` is an iterator (read once).

    `errors` and `ignored` fill in as the rows are read, so look at them after
    the rows are used up. Memory does not grow with the file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    readers = {".jsonl": _stream_jsonl, ".csv": _stream_csv, ".xlsx": _stream_xlsx}
    if suffix not in readers:
        raise ServiceError("只能导入 .jsonl、.csv 或 .xlsx 文件。", "file")
    parsed = ParsedFile()
    parsed.rows = _known_rows(readers[suffix](path, parsed, limits), parsed)  # type: ignore[assignment]
    return parsed


def _text_lines(path: Path) -> Iterator[str]:
    # Binary lines end at \n only (see _read_jsonl); each is decoded on its own.
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportRefused(
                    [f"第 {number} 行不是 UTF-8 编码，请另存为 UTF-8 后再导入。"]
                ) from exc
            line = line.rstrip("\n")
            yield line.lstrip("\ufeff") if number == 1 else line


def _stream_jsonl(path: Path, parsed: ParsedFile, limits: SheetLimits):
    yield from _jsonl_rows(_text_lines(path), parsed, limits)


def _stream_csv(path: Path, parsed: ParsedFile, limits: SheetLimits):
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            numbered = enumerate(csv.reader(handle), start=1)
            yield from _table_rows(
                numbered, parsed, _column, ("title", "description"), limits
            )
    except csv.Error as exc:
        raise ImportRefused([f"CSV 格式错误：{exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ImportRefused(["文件不是 UTF-8 编码，请另存为 UTF-8 后再导入。"]) from exc


def _stream_xlsx(path: Path, parsed: ParsedFile, limits: SheetLimits):
    with _workbook_rows(lambda: path, path.stat().st_size, limits) as numbered:
        yield from _table_rows(
            numbered, parsed, _column, ("title", "description"), limits
        )
