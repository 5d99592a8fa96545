"""Checks on uploaded and imported files before anything parses them.

Office files (DOCX, XLSX) are zip archives: a small file can expand to gigabytes
or hold millions of cells, so the archive's directory and the sheets' tags are
checked first, with caps that bound the work; PDFs must parse as a document.
Bulk imports and attachment uploads both use these checks.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from marketplace.exceptions import ServiceError

MIB = 2**20
# Below this much unpacked data the ratio says nothing: even a bomb is harmless.
RATIO_FROM = MIB
SCAN_CHUNK = MIB
BAD_ZIP = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError)
# A row, cell or shared string element, with or without a namespace prefix.
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|si)[\s/>]")


class FileRefused(ServiceError):
    """A file over a limit; `message` says which limit, for the caller to word."""


@dataclass(frozen=True)
class ZipLimits:
    """Caps on a zip archive, read from its directory before anything unpacks."""

    max_bytes: int  # all members unpacked together
    max_ratio: int  # unpacked size over the archive's size
    max_members: int


@dataclass(frozen=True)
class SheetLimits:
    """Caps on a table to import; `hint` tells the user what to do instead."""

    max_rows: int | None  # data rows, the header not counted; None: no cap
    max_columns: int
    max_cells: int | None
    archive: ZipLimits
    hint: str


ATTACHMENT_ZIP = ZipLimits(max_bytes=256 * MIB, max_ratio=100, max_members=1000)
# The bureau's upload page answers within a request; larger files use the command.
_ROWS, _COLUMNS, _CELLS = 5000, 50, 100_000
UPLOAD_CAPS = f"一次最多 {_ROWS} 行、{_COLUMNS} 列、{_CELLS} 个单元格"
UPLOAD_IMPORT = SheetLimits(
    max_rows=_ROWS,
    max_columns=_COLUMNS,
    max_cells=_CELLS,
    archive=ZipLimits(max_bytes=32 * MIB, max_ratio=100, max_members=200),
    hint=f"网页上传{UPLOAD_CAPS}；更大的文件请由管理员"
    "在服务器上用 flask --app wsgi import-listings 命令导入。",
)
COMMAND_IMPORT = SheetLimits(
    max_rows=50_000,
    max_columns=200,
    max_cells=5_000_000,
    archive=ZipLimits(max_bytes=1024 * MIB, max_ratio=1000, max_members=10_000),
    hint="请拆分文件后分批导入。",
)
# `flask import-listings` streams its file from disk a batch at a time, so a
# file of any number of rows fits; an .xlsx archive keeps its unpacked-size cap.
STREAMED_IMPORT = SheetLimits(
    max_rows=None,
    max_columns=200,
    max_cells=None,
    archive=ZipLimits(max_bytes=4096 * MIB, max_ratio=1000, max_members=10_000),
    hint="",
)


def _mb(size: int) -> str:
    return f"{size // MIB} MB"


def check_zip(archive: zipfile.ZipFile, size: int, limits: ZipLimits) -> None:
    """Refuse an archive whose directory announces too much; nothing is unpacked.

    zipfile never unpacks a member past the size its directory declares (it
    stops there and the CRC check fails), so the declared sizes can be trusted.
    """
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise FileRefused(f"包含超过 {limits.max_members} 个内部文件")
    total = sum(member.file_size for member in members)
    if total > limits.max_bytes:
        raise FileRefused(f"解压后超过 {_mb(limits.max_bytes)}")
    if total > RATIO_FROM and total > limits.max_ratio * max(size, 1):
        raise FileRefused(f"压缩比超过 {limits.max_ratio} 倍（疑似压缩炸弹）")


def _count_tags(
    archive: zipfile.ZipFile,
    name: str,
    counts: dict[bytes, int],
    check: Callable[[], None],
) -> None:
    with archive.open(name) as part:
        buffer = part.read(SCAN_CHUNK)
        # The scan reads bytes: XML that the parser would read as UTF-16 (a
        # byte-order mark, or a first "<" with a zero byte) hides its tags from it.
        if buffer[:2] in (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<"):
            raise FileRefused("使用了不支持的文字编码（应为 UTF-8）")
        while buffer:
            more = part.read(SCAN_CHUNK)
            # Keep a tag cut at the chunk's end whole for the next round.
            cut = buffer.rfind(b"<") if more else -1
            done, buffer = (buffer, b"") if cut < 0 else (buffer[:cut], buffer[cut:])
            for match in _TAG.finditer(done):
                counts[match.group(1)] += 1
            check()  # stop reading as soon as a cap is passed
            buffer += more


def check_workbook(archive: zipfile.ZipFile, limits: SheetLimits) -> None:
    """Count rows, cells and shared strings of every part before openpyxl reads any.

    openpyxl parses a sheet without a size declaration in full as soon as the
    workbook opens, so the caps must hold before it is opened. Every part is
    counted, whatever its name: the workbook may put its sheets anywhere (a
    formula cell counts twice, once more in calcChain.xml).
    """
    counts = {b"row": 0, b"c": 0, b"si": 0}
    names = [n for n in archive.namelist() if not n.endswith("/")]
    sheets = [n for n in names if n.startswith("xl/worksheets/")]

    def check() -> None:
        rows, cells = limits.max_rows, limits.max_cells
        if rows is not None and counts[b"row"] > rows + len(sheets):
            raise FileRefused(f"所有工作表合计超过 {limits.max_rows} 行")
        if cells is not None and max(counts[b"c"], counts[b"si"]) > cells:
            raise FileRefused(f"所有工作表合计超过 {limits.max_cells} 个单元格")

    for name in names:
        _count_tags(archive, name, counts, check)


def open_checked_zip(source: str | Path | IO[bytes], size: int, limits: ZipLimits):
    """Open a zip archive after check_zip; BAD_ZIP errors are the caller's to catch."""
    archive = zipfile.ZipFile(source)
    try:
        check_zip(archive, size, limits)
    except BaseException:
        archive.close()
        raise
    return archive


def pdf_problem(path: Path) -> str | None:
    """Why a file is not a readable PDF document, or None when it is one."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return "是加密的 PDF，请去掉打开密码后再上传"
        pages = len(reader.pages)
    except Exception:  # pypdf raises many kinds on a hostile file; all mean "no"
        return "不是有效的 PDF 文档（无法解析）"
    if pages < 1:
        return "不是有效的 PDF 文档（没有页面）"
    return None
