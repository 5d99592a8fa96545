"""技术合同登记证明: a printable PDF per registered contract, or a batch of them.

reportlab draws the pages with its built-in STSong-Light CID font, which PDF
readers supply themselves: no font file ships with the application, and the
text stays real text (searchable, and read back in the tests).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    CONTRACT_TYPE_LABELS,
    Contract,
    ContractStatus,
    Region,
    TechField,
    User,
)
from marketplace.money import format_wan
from marketplace.templating import localtime

FONT = "STSong-Light"
# One batch is one request's work: past this the bureau narrows the filter.
MAX_BATCH = 200


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _styles():
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    font = _font()
    # wordWrap="CJK" breaks Chinese lines between any two characters.
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=16)
    body.wordWrap = "CJK"
    title = ParagraphStyle(
        "title", fontName=font, fontSize=20, leading=28, alignment=TA_CENTER
    )
    return body, title


def _lookups() -> tuple[dict[str, str], dict[int, str]]:
    regions = {r.code: r.name for r in db.session.scalars(select(Region))}
    fields = {f.id: f.name for f in db.session.scalars(select(TechField))}
    return regions, fields


def _party(name: str, org_id: int | None, code: str, regions: dict) -> str:
    where = regions.get(code, code)
    outside = "" if org_id else "（平台外单位）"
    return f"{name}{outside}，所在县区：{where}"


def _rows(contract: Contract, regions: dict, fields: dict) -> list[tuple[str, str]]:
    term = ""
    if contract.term_start or contract.term_end:
        term = f"{contract.term_start or ''} 至 {contract.term_end or ''}"
    rows = [
        ("登记号", contract.registration_no or ""),
        ("登记日期", localtime(contract.registered_at, "%Y-%m-%d")),
        ("合同名称", contract.title or CONTRACT_TYPE_LABELS[contract.contract_type]),
        ("合同类型", CONTRACT_TYPE_LABELS[contract.contract_type]),
        ("技术领域", fields.get(contract.field_id, "未分类")),
        ("合同成交额", format_wan(contract.amount_fen)),
        ("技术交易额", format_wan(contract.tech_amount_fen)),
        (
            "卖方（受托方/让与方）",
            _party(
                contract.seller_name,
                contract.seller_org_id,
                contract.seller_region_code,
                regions,
            ),
        ),
        (
            "买方（委托方/受让方）",
            _party(
                contract.buyer_name,
                contract.buyer_org_id,
                contract.buyer_region_code,
                regions,
            ),
        ),
    ]
    if contract.broker_org is not None:
        rows.append(("技术转移机构", contract.broker_org.name))
    rows.append(("签订日期", contract.signed_on.isoformat()))
    if term:
        rows.append(("合同期限", term))
    return rows


def _issuer(contract: Contract) -> str:
    user = (
        db.session.get(User, contract.registered_by_id)
        if contract.registered_by_id
        else None
    )
    return user.org.name if user is not None and user.org is not None else "科技局"


def label_table(rows: list[tuple[str, str]], label_mm: int = 45):
    """A two-column grid of labels and values (user text escaped), 170 mm wide."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Table, TableStyle

    body, _ = _styles()
    # Paragraph reads a little markup: names typed by users are escaped.
    cells = [
        [Paragraph(escape(label), body), Paragraph(escape(value), body)]
        for label, value in rows
    ]
    table = Table(cells, colWidths=[label_mm * mm, (170 - label_mm) * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return table


def _page(contract: Contract, regions: dict, fields: dict) -> list:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    body, title = _styles()
    table = label_table(_rows(contract, regions, fields))
    note = "上述技术合同已经认定登记，特此证明。"
    return [
        Paragraph("技术合同登记证明", title),
        Spacer(1, 8 * mm),
        table,
        Spacer(1, 8 * mm),
        Paragraph(note, body),
        Spacer(1, 12 * mm),
        Paragraph(f"登记机关：{escape(_issuer(contract))}（盖章）", body),
    ]


def certificate_pdf(contracts: Iterable[Contract]) -> bytes:
    """One A4 page per registered contract (others are skipped), as PDF bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    regions, fields = _lookups()
    story: list = []
    for contract in contracts:
        if contract.status != ContractStatus.REGISTERED:
            continue
        if story:
            story.append(PageBreak())
        story += _page(contract, regions, fields)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title="技术合同登记证明",
        topMargin=25 * mm,
        bottomMargin=20 * mm,
    )
    document.build(story)
    return buffer.getvalue()
