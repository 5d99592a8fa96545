"""Forms for the bureau's queues (organisations, listings) and the bulk import."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.file_checks import UPLOAD_CAPS
from marketplace.forms_common import BaseForm, SafeText, choices, strip_filter
from marketplace.listings.importing import KINDS as IMPORT_KINDS
from marketplace.listings.states import REJECT_REASONS
from marketplace.models import CERTIFICATION_TAGS

IMPORT_MAX_BYTES = 10 * 2**20


class VerifyForm(BaseForm):
    """Approve an organisation (optional note)."""

    note = TextAreaField(
        "备注", filters=[strip_filter], validators=[Length(max=500), SafeText(True)]
    )


class RefuseForm(BaseForm):
    """Refuse an organisation with a reason its members see."""

    reason = TextAreaField(
        "不予通过的理由",
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=500), SafeText(multiline=True)],
    )


class CertificationsForm(BaseForm):
    """The certification tags the bureau records for an organisation."""

    tags = SelectMultipleField(
        "认定类型",
        choices=choices((t, t) for t in CERTIFICATION_TAGS),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class ReviewApproveForm(BaseForm):
    """Publish a listing under review (optional note for the record)."""

    note = TextAreaField(
        "备注", filters=[strip_filter], validators=[Length(max=500), SafeText(True)]
    )


class ReviewRejectForm(BaseForm):
    """Send a listing back with a reason code and a note the owner sees."""

    reason_code = SelectField(
        "退回理由",
        choices=choices([("", "请选择退回理由"), *REJECT_REASONS.items()]),
        validators=[DataRequired(message="请选择退回理由。")],
    )
    note = TextAreaField(
        "说明（发布方可见）",
        filters=[strip_filter],
        validators=[Length(max=1000), SafeText(multiline=True)],
    )


class ImportForm(BaseForm):
    """Upload a file of listings for one organisation."""

    kind = SelectField(
        "导入类型", choices=choices(IMPORT_KINDS.items()), validators=[DataRequired()]
    )
    org_id = SelectField("机构", validators=[Optional()])
    org_ref = StringField(
        "或输入机构名称 / 统一社会信用代码",
        filters=[strip_filter],
        validators=[Optional(), Length(max=100), SafeText()],
    )
    draft = BooleanField("以草稿导入（不发布）")
    file = FileField(
        "文件",
        validators=[
            FileRequired("请选择要导入的文件。"),
            FileAllowed(
                ["jsonl", "csv", "xlsx"], "只能上传 .jsonl、.csv 或 .xlsx 文件。"
            ),
        ],
        description="UTF-8 编码的 .jsonl、.csv，或 .xlsx（第一个工作表，"
        f"第 1 行为表头），不超过 10 MB；{UPLOAD_CAPS}，"
        "更大的文件由管理员用 flask --app wsgi import-listings 命令导入。",
    )
