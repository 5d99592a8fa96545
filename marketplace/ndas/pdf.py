"""The signed NDA as a PDF: the exact text, the signer and the record's proof.

Drawn with reportlab's built-in STSong-Light CID font (as the contract
certificates are), so Chinese renders with no font file shipped.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from marketplace.contracts.certificates import _styles, label_table
from marketplace.models import NdaSignature, NdaVersion
from marketplace.templating import localtime


def _rows(signature: NdaSignature, version: NdaVersion, listing) -> list:
    kind = "技术需求" if signature.challenge_id is not None else "科技成果"
    return [
        ("签署事项", f"{kind}：{listing.title}"),
        ("协议", f"{version.template.name}（第 {version.number} 版）"),
        ("签署人", signature.full_name),
        ("职务", signature.position),
        ("所在机构", signature.org_name),
        ("签署时间", localtime(signature.signed_at, "%Y-%m-%d %H:%M:%S")),
        ("客户端地址", signature.ip or "未知"),
        ("文本 SHA-256", signature.sha256),
    ]


def signed_nda_pdf(signature: NdaSignature, listing) -> bytes:
    """The signed agreement with its signature record, as PDF bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    body, title = _styles()
    version = signature.version
    # User text goes through Paragraph's markup parser: escape it, keep lines.
    story: list = [Paragraph("保密协议", title), Spacer(1, 6 * mm)]
    for line in version.text.splitlines():
        story.append(Paragraph(escape(line) or "&nbsp;", body))
    story += [Spacer(1, 8 * mm), Paragraph("签署记录", body), Spacer(1, 2 * mm)]
    story.append(label_table(_rows(signature, version, listing), label_mm=35))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, title="保密协议签署记录", topMargin=20 * mm
    ).build(story)
    return buffer.getvalue()
