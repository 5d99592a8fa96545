"""The bureau's upload pages for contracts and experts, and the XLSX templates.

Uploads are checked exactly as the import commands check them (every row first,
nothing written unless all pass, errors by line number), within the upload caps.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

from flask import Response, abort, flash, redirect, render_template, url_for
from sqlalchemy.exc import IntegrityError

from marketplace import import_templates, permissions
from marketplace.bureau import bp
from marketplace.bureau.forms import IMPORT_MAX_BYTES
from marketplace.bureau.import_forms import ContractImportForm, ExpertImportForm
from marketplace.bureau.routes import SHOWN_IMPORT_ERRORS, _upload_name
from marketplace.contracts import importing as contract_import
from marketplace.exceptions import ServiceError
from marketplace.experts import importing as expert_import
from marketplace.extensions import db
from marketplace.file_checks import UPLOAD_CAPS, UPLOAD_IMPORT
from marketplace.listings.import_files import ImportRefused

NEW_ACCOUNT_ADVICE = "请在本页填写新账号的初始密码后重新上传"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The page's own advice when a file is over the caps: no server command.
PAGE_LIMITS = dataclasses.replace(
    UPLOAD_IMPORT, hint=f"网页上传{UPLOAD_CAPS}；更大的文件请拆分后分批上传。"
)


@bp.route("/import/templates/<template>.xlsx")
@permissions.bureau_required
def import_template(template: str):
    """An import's XLSX template: header row, example rows and a notes sheet."""
    name = template
    template = import_templates.TEMPLATES.get(name)
    if template is None:
        abort(404)
    quoted = quote(template.filename)
    return Response(
        import_templates.workbook(template),
        mimetype=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{name}.xlsx"; '
            f"filename*=UTF-8''{quoted}"
        },
    )


def _upload(form: Any, parse, run) -> tuple[Any, list[str]]:
    """Read, check and import the uploaded file; (report, []) or (None, errors)."""
    upload = form.file.data
    data = upload.stream.read(IMPORT_MAX_BYTES + 1)
    name = _upload_name(upload.filename)
    try:
        if len(data) > IMPORT_MAX_BYTES:
            raise ServiceError("文件不能超过 10 MB，请拆分后再导入。", "file")
        parsed = parse(data, name, PAGE_LIMITS)
        report = run(parsed.rows, source=name, errors=parsed.errors)
    except ImportRefused as error:
        db.session.rollback()
        return None, error.errors
    except ServiceError as error:
        db.session.rollback()
        form.attach_error(error)
        return None, []
    except IntegrityError:
        db.session.rollback()
        form.form_errors.append("同一批数据正在被其他人导入，请稍后重试。")
        return None, []
    db.session.commit()
    if parsed.ignored:
        flash(f"已忽略未知的列：{'、'.join(parsed.ignored)}。", "warning")
    return report, []


def _page(template: str, form: Any, errors: list[str], **context: Any):
    return render_template(
        template,
        form=form,
        errors=errors[:SHOWN_IMPORT_ERRORS],
        error_count=len(errors),
        hidden_errors=max(0, len(errors) - SHOWN_IMPORT_ERRORS),
        **context,
    )


@bp.route("/import/contracts", methods=["GET", "POST"])
@permissions.bureau_required
def import_contracts():
    """Upload a .csv or .xlsx file of technology contracts, all or nothing."""
    form = ContractImportForm()
    errors: list[str] = []
    if form.validate_on_submit():
        report, errors = _upload(
            form, contract_import.parse_file, contract_import.import_rows
        )
        if report is not None:
            flash(
                f"已导入技术合同 {report.added} 份，"
                f"其中已登记 {report.registered} 份。",
                "success",
            )
            return redirect(url_for("bureau.import_contracts"))
    return _page("bureau/import_contracts.html", form, errors)


@bp.route("/import/experts", methods=["GET", "POST"])
@permissions.bureau_required
def import_experts():
    """Upload the expert pool as .csv or .xlsx, all or nothing."""
    form = ExpertImportForm()
    errors: list[str] = []
    if form.validate_on_submit():
        password = form.password.data or ""
        report, errors = _upload(
            form,
            expert_import.parse_file,
            lambda rows, **options: expert_import.import_rows(
                rows,
                password=password,
                new_account_advice=NEW_ACCOUNT_ADVICE,
                **options,
            ),
        )
        if report is not None:
            flash(
                f"新增专家 {report.added} 位，更新 {report.updated} 位，"
                f"新建账号 {report.accounts} 个。",
                "success",
            )
            return redirect(url_for("bureau.import_experts"))
    return _page("bureau/import_experts.html", form, errors)
