"""Forms for uploading listing attachments and verification documents."""

from __future__ import annotations

from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from marketplace.forms_common import BaseForm, SafeText, choices, strip_filter
from marketplace.models import ORG_DOCUMENT_KIND_LABELS


class ListingFilesForm(BaseForm):
    """Files for a challenge or result, with a label and public or confidential."""

    attachments = MultipleFileField(
        "选择文件",
        description="可选 PDF、DOCX、XLSX、PNG、JPG 文件，每个不超过 20 MB，可多选。",
    )
    label = StringField(
        "说明",
        filters=[strip_filter],
        validators=[Length(max=100), SafeText()],
        description="例如：设备规格书、工艺图纸、专利证书（可不填）。",
    )
    confidential = BooleanField(
        "保密附件",
        description="勾选后仅向发布方、科技局及接受保密承诺（签署保密协议）的机构提供；"
        "其他访客看不到文件名。",
    )


class OrgDocumentsForm(BaseForm):
    """Verification documents: a business licence scan or another certificate."""

    kind = SelectField(
        "材料类型",
        choices=choices([(k.value, v) for k, v in ORG_DOCUMENT_KIND_LABELS.items()]),
        validators=[DataRequired()],
    )
    attachments = MultipleFileField(
        "选择文件",
        description="营业执照或法人证书等扫描件，PDF、PNG、JPG 格式，"
        "每个不超过 20 MB。仅科技局审核人员和本机构管理员可以查看。",
    )
