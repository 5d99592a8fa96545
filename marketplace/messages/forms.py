"""Forms of the message threads."""

from __future__ import annotations

from flask_wtf.file import MultipleFileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.confirm import confirm_field
from marketplace.forms_common import BaseForm, SafeText, strip_filter
from marketplace.messages.services import BODY_MAX, MAX_ATTACHMENTS, REASON_MAX


def _text(label: str, limit: int = BODY_MAX, **kwargs) -> TextAreaField:
    """A required multi-line text field of at most `limit` characters."""
    return TextAreaField(
        label,
        filters=[strip_filter],
        validators=[DataRequired(), Length(max=limit), SafeText(multiline=True)],
        **kwargs,
    )


class MessageForm(BaseForm):
    """A message: text and, optionally, attachments."""

    body = _text("消息内容")
    attachments = MultipleFileField(
        "附件",
        description="可选 PDF、DOCX、XLSX 文件，每个不超过 20 MB，"
        f"最多 {MAX_ATTACHMENTS} 个。",
    )


class ClarificationForm(BaseForm):
    """A question and its answer, published to every bidder without the asker."""

    question = _text("问题（请去掉提问方的名称等身份信息）")
    answer = _text("答复")
    confirm = confirm_field("我确认将以上问答公开给所有揭榜方（不显示提问方）")


class ReviewForm(BaseForm):
    """Bureau staff state why they open a thread they are no party to."""

    complaint = StringField(
        "投诉编号或来源",
        filters=[strip_filter],
        validators=[Optional(), Length(max=100), SafeText()],
    )
    reason = _text(
        "查阅事由",
        REASON_MAX,
        description="仅在处理投诉时查阅；本次查阅的人员、时间和事由将记入审计日志。",
    )
    confirm = confirm_field("我确认本次查阅用于投诉审查")
