"""The signed NDA as a PDF: the exact text, the signer and the record's proof.

Drawn with reportlab's built-in STSong-Light CID font (as the contract
certificates are), so Chinese renders with no font file shipped.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from marketplace import permissions
from marketplace.contracts.certificates import _styles, label_table
from marketplace.models import Challenge, NdaSignature, NdaVersion
from marketplace.templating import localtime


def _rows(signature: NdaSignature, version: NdaVersion, listing, owner: str) -> list:
    kind = "技术需求" if signature.challenge_id is not None else "科技成果"
    return [
        ("签署事项", f"{kind}：{listing.title}"),
        ("发布方", owner),
        ("协议", f"{version.template.name}（第 {version.number} 版）"),
        ("签署人", signature.full_name),
        ("职务", signature.position),
        ("所在机构", signature.org_name),
        ("签署时间", localtime(signature.signed_at, "%Y-%m-%d %H:%M:%S")),
        ("客户端地址", signature.ip or "未知"),
        ("文本 SHA-256", signature.sha256),
    ]


def signed_nda_pdf(signature: NdaSignature, listing, viewer: Any) -> bytes:
    """The signed agreement with its signature record, as PDF bytes.

    Drawn at each download for the viewer: an anonymous challenge's poster is
    named only to those who may learn it (匿名发布).
    """
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
    owner = (
        permissions.seeker_name(viewer, listing)
        if isinstance(listing, Challenge)
        else listing.org.name
    )
    rows = _rows(signature, version, listing, owner)
    story.append(label_table(rows, label_mm=35))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, title="保密协议签署记录", topMargin=20 * mm
    ).build(story)
    return buffer.getvalue()
