"""Downloadable XLSX templates for every bulk import, with example rows and notes.

Each template's first sheet is what the importer reads: a header row in Chinese
(the importers take Chinese or English names) and example rows that import as
they stand. A second sheet, 填写说明, explains every column. Examples use the
first region and field of this city's reference data, so they stay valid when
the reference data is replaced.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.file_checks import UPLOAD_CAPS
from marketplace.models import Region, TechField


@dataclass(frozen=True)
class Column:
    """One column: its Chinese header, the importer's English name and help."""

    header: str
    name: str
    required: bool
    help: str


@dataclass(frozen=True)
class Template:
    """A template: its file name, columns, example rows and general notes."""

    filename: str
    title: str
    columns: tuple[Column, ...]
    examples: Callable[[dict[str, str]], list[list[Any]]]
    notes: tuple[str, ...] = ()


DATE = "日期写作 YYYY-MM-DD（如 2026-03-01），或使用 Excel 日期格式"
COMMON_NOTES = (
    "第一个工作表的第 1 行是表头，可用中文或英文列名；从第 2 行起每行一条数据。",
    "整个文件先逐行检查：只要有一行有错，就不导入任何数据，并列出每一行的问题"
    "（行号即 Excel 中的行号）。",
    f"网页上传{UPLOAD_CAPS}，文件不超过 10 MB。",
    "示例行可以直接导入，也可以删去后填写自己的数据；本说明工作表不会被导入。",
)
LISTING = (
    Column("标题", "title", True, "最长 200 字"),
    Column("描述", "description", True, "详细介绍，也可写作 摘要 / abstract"),
    Column(
        "编号",
        "external_id",
        False,
        "机构内部编号，最长 64 字符；再次导入同一编号会更新",
    ),
    Column("关键词", "keywords", False, "用顿号、逗号、分号或空格分隔"),
    Column("技术领域", "field", False, "技术领域名称，见平台的技术领域列表"),
)


def _listing_examples(kind: str) -> Callable[[dict[str, str]], list[list[Any]]]:
    def rows(ref: dict[str, str]) -> list[list[Any]]:
        today = local_today()
        if kind == "result":
            return [
                [
                    "高强度可降解镁合金骨钉",
                    "采用微合金化与表面涂层技术，降解速率可控，力学性能满足临床要求。",
                    "R-2026-001",
                    "镁合金、可降解、骨科植入",
                    ref["field"],
                    "120",
                    "材料科学",
                    6,
                    (today + timedelta(days=700)).isoformat(),
                ],
                [
                    "小麦赤霉病快速检测试纸",
                    "免疫层析法十分钟出结果，适用于收购现场快速筛查。",
                    "R-2026-002",
                    "小麦、赤霉病、快速检测",
                    "",
                    "",
                    "",
                    4,
                    "",
                ],
            ]
        return [
            [
                "花生仁黄曲霉毒素在线检测与分选",
                "需要在线检测花生仁中黄曲霉毒素超标颗粒并自动剔除，误剔率低于 2%。",
                "C-2026-001",
                "花生、黄曲霉毒素、在线分选",
                ref["field"],
                "80",
                (today + timedelta(days=60)).isoformat(),
            ]
        ]

    return rows


RESULTS = Template(
    "科技成果导入模板.xlsx",
    "科技成果",
    (
        *LISTING,
        Column("价格", "price_wan", False, "转让价格（万元），留空为面议"),
        Column("学科", "discipline", False, "所属学科"),
        Column("成熟度", "maturity", False, "技术成熟度 1–9"),
        Column("有效期", "valid_until", False, f"{DATE}；留空为两年"),
    ),
    _listing_examples("result"),
    ("科技成果只能导入给高校、科研院所；在上传页面选择所属机构。",),
)
CHALLENGES = Template(
    "技术需求导入模板.xlsx",
    "技术需求",
    (
        *LISTING,
        Column("榜额", "price_wan", False, "悬赏金额（万元），留空为面议"),
        Column("截止日期", "deadline", True, f"揭榜截止日期，{DATE}，须晚于今天"),
    ),
    _listing_examples("challenge"),
    ("技术需求只能导入给企业；在上传页面选择所属机构。",),
)


def _contract_examples(ref: dict[str, str]) -> list[list[Any]]:
    signed = (local_today() - timedelta(days=10)).isoformat()
    return [
        ["技术开发", "示例农业科技有限公司", ref["region"], "示例大学", ref["region"],
         "", ref["field"], signed, "50", "45", ""],
        ["技术服务", "示例食品有限公司", ref["region"], "示例研究院", ref["region"],
         "", "", signed, "8.5", "", ""],
    ]  # fmt: skip


CONTRACTS = Template(
    "技术合同导入模板.xlsx",
    "技术合同",
    (
        Column(
            "合同类型",
            "contract_type",
            True,
            "技术开发、技术转让、技术许可、技术咨询、技术服务",
        ),
        Column(
            "买方",
            "buyer",
            True,
            "平台上机构的全称或统一社会信用代码，或平台外单位名称",
        ),
        Column(
            "买方所在县区",
            "buyer_region",
            False,
            "买方不在平台上时必填：县区名称或代码",
        ),
        Column("卖方", "seller", True, "同买方"),
        Column("卖方所在县区", "seller_region", False, "卖方不在平台上时必填"),
        Column("技术转移机构", "broker", False, "平台上技术转移机构的全称或信用代码"),
        Column("技术领域", "field", False, "技术领域名称或代码"),
        Column("签订日期", "signed_on", True, DATE),
        Column("合同成交额", "amount_wan", True, "万元，最多两位小数"),
        Column("技术交易额", "tech_amount_wan", False, "万元；留空等于合同成交额"),
        Column(
            "登记号", "registration_no", False, "已登记的合同填写登记号，按已登记导入"
        ),
    ),
    _contract_examples,
)


def _expert_examples(ref: dict[str, str]) -> list[list[Any]]:
    return [
        ["zhou.expert@example.cn", "周卫东", "教授", ref["org"], ref["field"],
         "食品安全检测、快速检测", "13800000000"],
    ]  # fmt: skip


EXPERTS = Template(
    "专家导入模板.xlsx",
    "评审专家",
    (
        Column("邮箱", "email", True, "专家登录用的电子邮箱；已有专家按邮箱更新"),
        Column("姓名", "name", False, "新建账号时必填"),
        Column("职称", "title", False, "如 教授、研究员、高级工程师"),
        Column("所属机构", "affiliation", False, "平台上已认证机构的全称或信用代码"),
        Column("技术领域", "fields", True, "技术领域名称或代码，可填多个，用顿号分隔"),
        Column("专业特长", "specialities", False, "研究方向、擅长的技术"),
        Column("联系电话", "phone", False, "手机或座机"),
    ),
    _expert_examples,
    (
        "没有账号的邮箱会新建账号，初始密码在上传页面填写，请告知专家登录后修改。",
        "所属机构须先在平台上注册并通过认证；示例行中的机构请换成真实机构。",
    ),
)
TEMPLATES = {
    "results": RESULTS,
    "challenges": CHALLENGES,
    "contracts": CONTRACTS,
    "experts": EXPERTS,
}


def _reference() -> dict[str, str]:
    region = db.session.scalar(select(Region.name).order_by(Region.code).limit(1))
    field = db.session.scalar(select(TechField.name).order_by(TechField.id).limit(1))
    return {
        "region": region or "",
        "field": field or "",
        "org": "（填写平台上已认证机构的全称）",
    }


def example_rows(template: Template, **reference: str) -> list[list[Any]]:
    """The template's example rows; `reference` overrides the looked-up names."""
    return template.examples({**_reference(), **reference})


def workbook(template: Template) -> bytes:
    """The template as XLSX bytes: the data sheet, then the notes sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = template.title
    sheet.append([c.header for c in template.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in example_rows(template):
        sheet.append(row)
    for letter_index, column in enumerate(template.columns, start=1):
        width = max(len(column.header) * 2 + 4, 14)
        sheet.column_dimensions[_letter(letter_index)].width = width
    notes = book.create_sheet("填写说明")
    notes.append(["列名", "英文列名", "是否必填", "说明"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in template.columns:
        notes.append(
            [column.header, column.name, "必填" if column.required else "", column.help]
        )
    notes.append([])
    for line in (*template.notes, *COMMON_NOTES):
        notes.append([line])
    notes.column_dimensions["D"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)
