"""Forms of the bureau's contract and expert uploads."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import PasswordField
from wtforms.validators import Length, Optional

from marketplace.file_checks import UPLOAD_CAPS
from marketplace.forms_common import BaseForm


def _table_file() -> FileField:
    return FileField(
        "文件",
        validators=[
            FileRequired("请选择要导入的文件。"),
            FileAllowed(["csv", "xlsx"], "只能上传 .csv 或 .xlsx 文件。"),
        ],
        description="UTF-8 编码的 .csv，或 .xlsx（第一个工作表，第 1 行为表头），"
        f"不超过 10 MB；{UPLOAD_CAPS}，更大的文件请拆分后分批上传。",
    )


class ContractImportForm(BaseForm):
    """Upload a file of technology contracts."""

    file = _table_file()


class ExpertImportForm(BaseForm):
    """Upload the expert pool, with the first password of accounts it creates."""

    file = _table_file()
    password = PasswordField(
        "新账号的初始密码",
        validators=[Optional(), Length(max=128)],
        description="文件中没有账号的邮箱会新建账号并使用此密码（字母加数字，"
        "至少 10 位，不能是常见密码），请告知专家登录后修改。已有账号的专家无需填写。",
    )
