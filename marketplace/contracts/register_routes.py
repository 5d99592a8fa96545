"""The register: search, paging, exports and registration certificates."""

from __future__ import annotations

from collections.abc import Iterator

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace import permissions
from marketplace.contracts import bp
from marketplace.contracts.certificates import MAX_BATCH, certificate_pdf
from marketplace.contracts.register import RegisterFilterForm
from marketplace.contracts.routes import PER_PAGE, STATUS_LABELS
from marketplace.extensions import db
from marketplace.models import CONTRACT_TYPE_LABELS, Contract, ContractStatus
from marketplace.stats import exports

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _search() -> RegisterFilterForm:
    form = RegisterFilterForm(request.args, status_labels=STATUS_LABELS)
    form.validate()
    return form


def _download(data: bytes | Iterator[bytes], mimetype: str, filename: str):
    if not isinstance(data, bytes):
        # Streamed: the rows are read and written while the response goes out.
        data = stream_with_context(data)
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/")
@login_required
def index():
    """The user's contracts; the bureau sees the whole register. Searchable."""
    form = _search()
    page = db.paginate(
        permissions.visible_register(current_user, form.to_filter()),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "contracts/index.html",
        page=page,
        form=form,
        problem=form.problems(),
        args=form.link_args(),
        type_labels=CONTRACT_TYPE_LABELS,
        status_labels=STATUS_LABELS,
        is_bureau=permissions.is_bureau(current_user),
        max_batch=MAX_BATCH,
    )


def _refused(form: RegisterFilterForm):
    flash(f"筛选条件有误，未导出：{form.problems()}", "danger")
    return redirect(url_for("contracts.index", **form.link_args()))


@bp.get("/register.<ext>")
@permissions.bureau_required
def export(ext: str):
    """The register's rows under the current filter, as CSV or XLSX."""
    if ext not in {"csv", "xlsx"}:
        abort(404)
    form = _search()
    if form.errors:
        return _refused(form)
    title, header, body = exports.register_table(form.to_filter(), current_user)
    if ext == "csv":
        return _download(exports.csv_chunks(header, body), "text/csv", "register.csv")
    return _download(exports.xlsx_chunks(title, header, body), XLSX, "register.xlsx")


@bp.get("/certificates.pdf")
@permissions.bureau_required
def certificates():
    """Registration certificates of every registered contract the filter shows."""
    form = _search()
    if form.errors:
        return _refused(form)
    query = permissions.visible_register(current_user, form.to_filter()).where(
        Contract.status == ContractStatus.REGISTERED
    )
    count = db.session.scalar(
        select(func.count()).select_from(query.order_by(None).subquery())
    )
    back = redirect(url_for("contracts.index", **form.link_args()))
    if not count:
        flash("当前筛选条件下没有已登记的合同，无登记证明可导出。", "warning")
        return back
    if count > MAX_BATCH:
        flash(
            f"当前筛选条件下有 {count} 份已登记合同，超过一次最多导出的 "
            f"{MAX_BATCH} 份，请缩小筛选范围后再导出。",
            "warning",
        )
        return back
    contracts = db.session.scalars(query.options(selectinload(Contract.broker_org)))
    return _download(certificate_pdf(contracts), "application/pdf", "certificates.pdf")


@bp.get("/<int:contract_id>/certificate.pdf")
@login_required
def certificate(contract_id: int):
    """The 技术合同登记证明 of one registered contract, for the bureau and parties."""
    contract = db.session.get(Contract, contract_id)
    if contract is None or not permissions.can_view_contract(current_user, contract):
        abort(404)
    permissions.require(permissions.can_view_certificate(current_user, contract))
    if contract.status != ContractStatus.REGISTERED:
        flash("合同登记后才有登记证明。", "warning")
        return redirect(url_for("contracts.show", contract_id=contract.id))
    filename = f"certificate_{contract.registration_no}.pdf"
    return _download(certificate_pdf([contract]), "application/pdf", filename)
