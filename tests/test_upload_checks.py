"""Uploaded and imported files are checked before anything parses them.

Spreadsheets to import: the archive's unpacked size, ratio and member count, then
the rows, columns and cells of every sheet, with reading stopped at the first
row over a limit. Attachments: PDFs must parse, DOCX/XLSX archives stay small.
"""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from marketplace.exceptions import ServiceError
from marketplace.file_checks import COMMAND_IMPORT, UPLOAD_IMPORT
from marketplace.listings.import_files import ImportRefused, parse_file
from marketplace.models import Attachment, OrgKind, Proposal, Result
from marketplace.proposals import attachments
from tests.factories import make_challenge
from tests.sample_files import PDF

HINT = "flask --app wsgi import-listings"
SHEET = "xl/worksheets/sheet1.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def cell(value) -> str:
    if isinstance(value, str):
        return f'<c t="inlineStr"><is><t>{value}</t></is></c>'
    return f"<c><v>{value}</v></c>"


def row(number: int, *values, raw: str = "") -> str:
    return f'<row r="{number}">{"".join(cell(v) for v in values)}{raw}</row>'


def workbook(rows, part: str = SHEET) -> bytes:
    """An .xlsx whose first sheet is exactly `rows` (XML) at `part`, in one go."""
    skeleton = io.BytesIO()
    Workbook().save(skeleton)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(skeleton) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace(f"/{SHEET}".encode(), f"/{part}".encode())
            if info.filename != SHEET:
                target.writestr(info.filename, body)
        target.writestr(
            part,
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}">'
            f"<sheetData>{''.join(rows)}</sheetData></worksheet>",
        )
    return out.getvalue()


@pytest.fixture
def sheet_reads(monkeypatch):
    """What openpyxl parsed: sheet parsers made and row numbers read."""
    from openpyxl.worksheet import _reader

    seen = {"parsers": 0, "rows": []}
    parser_init, parse = _reader.WorkSheetParser.__init__, _reader.WorkSheetParser.parse

    def counting_init(self, *args, **kwargs):
        seen["parsers"] += 1
        parser_init(self, *args, **kwargs)

    def counting_parse(self):
        for number, cells in parse(self):
            seen["rows"].append(number)
            yield number, cells

    monkeypatch.setattr(_reader.WorkSheetParser, "__init__", counting_init)
    monkeypatch.setattr(_reader.WorkSheetParser, "parse", counting_parse)
    return seen


def upload(client, content, name, org):
    data = {
        "kind": "result",
        "org_id": str(org.id),
        "file": (io.BytesIO(content), name),
    }
    return client.post("/bureau/import", data=data, content_type="multipart/form-data")


def results(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Result))


# --- imports ----------------------------------------------------------------------


def test_small_workbook_of_22mb_xml_is_refused_unread(
    bureau_client, db, factory, sheet_reads
):
    # The assessment's file: 5,000 rows of 300 cells, ~100 KB packed, ~30 MB XML.
    body = row(1, "title", "description") + "".join(
        row(n, raw=cell(1) * 300) for n in range(2, 5002)
    )
    data = workbook([body])
    assert len(data) < 200_000
    response = upload(
        bureau_client, data, "small.xlsx", factory.org(OrgKind.UNIVERSITY)
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Excel 文件压缩比超过 100 倍" in page and HINT in page
    assert "5000 行、50 列、100000 个单元格" in page
    assert sheet_reads == {"parsers": 0, "rows": []}
    assert results(db) == 0


# openpyxl finds a sheet through the workbook's relationships, under any name.
@pytest.mark.parametrize("part", [SHEET, "xl/media/image1.png"])
def test_too_many_cells_are_counted_before_openpyxl_opens_the_book(
    bureau_client, db, factory, sheet_reads, part
):
    # Random numbers pack like real data, so the archive checks pass.
    draw = random.Random(16)
    header = row(1, "title", "description", *(f"c{i}" for i in range(58)))
    body = [row(n, *(draw.randrange(10**6) for _ in range(60))) for n in range(2, 2502)]
    response = upload(
        bureau_client,
        workbook([header, *body], part),
        "wide.xlsx",
        factory.org(OrgKind.UNIVERSITY),
    )
    page = response.get_data(as_text=True)
    assert "所有工作表合计超过 100000 个单元格" in page and HINT in page
    assert sheet_reads == {"parsers": 0, "rows": []}
    assert results(db) == 0


def test_reading_stops_at_the_first_row_over_the_column_cap(app, sheet_reads):
    rows = [
        row(1, "title", "description"),
        row(2, "宽", "行", raw='<c r="BZ2"><v>1</v></c>'),  # column 78
        *(row(n, f"成果{n}", "内容") for n in range(3, 503)),
    ]
    with pytest.raises(ImportRefused) as refused:
        parse_file(workbook(rows), "wide.xlsx")
    assert refused.value.errors[0].startswith("第 2 行超过 50 列，未导入。")
    assert HINT in refused.value.errors[0]
    assert sheet_reads["rows"] == [1, 2]  # the 500 rows after it never read


def test_bureau_upload_caps_rows_and_columns_of_csv_too(bureau_client, db, factory):
    org = factory.org(OrgKind.UNIVERSITY)
    wide = ",".join(["title", "description", *(f"c{i}" for i in range(49))])
    page = upload(bureau_client, wide.encode(), "wide.csv", org).get_data(as_text=True)
    assert "第 1 行超过 50 列" in page and HINT in page
    long = "title,description\n" + "标题,内容\n" * 5001
    page = upload(bureau_client, long.encode(), "long.csv", org).get_data(as_text=True)
    assert "一次最多导入 5000 行数据" in page and HINT in page
    assert results(db) == 0


def test_the_command_reads_past_the_upload_caps(runner, db, factory, tmp_path):
    org = factory.org(OrgKind.UNIVERSITY)
    path = tmp_path / "long.csv"
    # Past the page's 5,000 rows; one bad row keeps the import from writing.
    rows = "标题,内容,3\n" * 5000 + "坏,行,12\n"
    path.write_text("title,description,maturity\n" + rows)
    result = runner.invoke(
        args=["import-listings", "--kind", "result", "--org", org.name, str(path)]
    )
    assert result.exit_code != 0
    assert "第 5002 行: maturity 应为 1–9 的整数" in result.output
    assert HINT not in result.output and "5000 行" not in result.output
    assert results(db) == 0
    # The command's own caps still hold, with their own advice.
    assert COMMAND_IMPORT.max_rows > UPLOAD_IMPORT.max_rows
    with pytest.raises(ImportRefused) as refused:
        parse_file(b"title,description\n" + b"a,b\n" * 50_001, "x.csv", COMMAND_IMPORT)
    assert refused.value.errors == [
        "一次最多导入 50000 行数据，未导入。请拆分文件后分批导入。"
    ]


# --- attachments ------------------------------------------------------------------


def office_file(members: dict[str, int | bytes]) -> bytes:
    """A DOCX-shaped archive; an int member is that many zero bytes, streamed."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            with archive.open(name, "w") as part:
                if isinstance(body, bytes):
                    part.write(body)
                    continue
                for _ in range(body // 2**20):
                    part.write(bytes(2**20))
    return out.getvalue()


DOCX_PARTS = {"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<x/>"}


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"word/document.xml": 300 * 2**20}, "解压后超过 256 MB"),
        ({"word/document.xml": 8 * 2**20}, "压缩比超过 100 倍（疑似压缩炸弹）"),
        (
            {"word/document.xml": b"<x/>", **{f"m/{i}.xml": b"" for i in range(1000)}},
            "包含超过 1000 个内部文件",
        ),
    ],
)
def test_office_archives_are_checked_before_acceptance(app, members, message):
    upload = FileStorage(io.BytesIO(office_file({**DOCX_PARTS, **members})), "a.docx")
    with app.app_context():
        with pytest.raises(ServiceError) as refused:
            attachments.store(upload)
        assert list(attachments.upload_dir().iterdir()) == []
    assert refused.value.message == f"“a.docx”{message}，已拒绝。"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"%PDF-1.4\n<html><script>alert(1)</script></html>\n", "无法解析"),
        (
            b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n",
            "无法解析",
        ),
        (PDF.replace(b"/Kids [3 0 R] /Count 1", b"/Kids [] /Count 0"), "没有页面"),
    ],
)
def test_pdfs_must_parse(app, body, message):
    with app.app_context(), pytest.raises(ServiceError) as refused:
        attachments.store(FileStorage(io.BytesIO(body), "方案.pdf"))
    expected = f"“方案.pdf”不是有效的 PDF 文档（{message}），已拒绝。"
    assert refused.value.message == expected


def bid(client, challenge_id, body, name):
    data = {
        "solution": "方案",
        "technical_route": "路线",
        "price": "10",
        "duration_months": "6",
        "team": "团队",
        "members": "",
        "attachments": [(io.BytesIO(body), name)],
    }
    return client.post(
        f"/proposals/challenge/{challenge_id}/new",
        data=data,
        content_type="multipart/form-data",
    )


def test_bids_refuse_fake_pdfs_and_bombs_and_serve_real_ones_as_attachments(
    app, db, enterprise_client, institute_client
):
    challenge_id = make_challenge(enterprise_client.org.id).id
    fake = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>"
    page = bid(institute_client, challenge_id, fake, "方案.pdf").get_data(as_text=True)
    assert "不是有效的 PDF 文档" in page
    bomb = office_file({**DOCX_PARTS, "word/document.xml": 300 * 2**20})
    page = bid(institute_client, challenge_id, bomb, "a.docx").get_data(as_text=True)
    assert "解压后超过 256 MB" in page
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0

    assert bid(institute_client, challenge_id, PDF, "方案.pdf").status_code == 302
    attachment = db.session.scalar(select(Attachment))
    download = enterprise_client.get(f"/proposals/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
