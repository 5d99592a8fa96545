"""The bureau's statistics dashboard, targets and exports."""

from __future__ import annotations

from datetime import date

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
from flask_login import current_user

from marketplace import permissions
from marketplace.clock import local_today
from marketplace.exceptions import ServiceError
from marketplace.stats import bp, columns, delivery, exports, services
from marketplace.stats.forms import RangeForm, TargetForm
from marketplace.views import form_problem, submit

TABLE_TITLES = {name: spec[0] for name, spec in exports.TABLES.items()}


def _range() -> tuple[date, date, RangeForm, str | None]:
    form = RangeForm(request.args)
    problem = None
    start = end = None
    if form.validate():
        start, end = form.start.data, form.end.data
    else:
        problem = form_problem(form)
    try:
        start, end = services.check_range(start, end)
    except ServiceError as error:
        problem = error.message
        start, end = services.check_range(None, None)
    return start, end, form, problem


@bp.get("/")
@permissions.bureau_required
def index():
    """Dashboard: every breakdown, as charts and tables."""
    start, end, form, problem = _range()
    if problem:
        flash(problem, "danger")
    breakdowns = services.breakdowns(start, end)
    tops = {
        role: services.top_orgs(start, end, role)
        for role in ("seller", "buyer", "broker")
    }
    chart_data = {
        by: {
            "labels": [r["label"] for r in result["rows"]],
            "amount": [
                r.get("contract_amount_fen", r.get("output_fen"))
                for r in result["rows"]
            ],
            "tech": [
                r.get("tech_amount_fen", r.get("absorption_fen"))
                for r in result["rows"]
            ],
        }
        for by, result in breakdowns.items()
    }
    progress = services.target_progress(end.year)
    chart_data["target"] = progress
    projects = delivery.dashboard(start, end)
    chart_data["delivery_money"] = delivery.money_chart(projects["stages"])
    return render_template(
        "stats/index.html",
        form=form,
        start=start,
        end=end,
        breakdowns=breakdowns,
        yoy=services.year_on_year(start, end, now=_summary(breakdowns["month"])),
        progress=progress,
        funnel=services.funnel(start, end),
        tops=tops,
        certifications=services.certification_counts(),
        chart_data=chart_data,
        titles=TABLE_TITLES,
        figures=columns.FIGURE_LABELS,
        figure_notes=columns.FIGURE_NOTES,
        delivery=projects,
    )


def _summary(months: dict) -> dict:
    # The month breakdown's total is the range's summary(): same rows, same sums.
    return {key: months["total"][key] for key in services.PERIOD_KEYS}


@bp.get("/export/<name>.<ext>")
@permissions.bureau_required
def export(name: str, ext: str):
    """One table, or the contract register, as CSV or XLSX."""
    if name not in exports.TABLES or ext not in {"csv", "xlsx"}:
        abort(404)
    start, end, _form, problem = _range()
    if problem:
        abort(400)
    title, header, body = exports.table(name, start, end)
    filename = f"{name}_{start.isoformat()}_{end.isoformat()}.{ext}"
    if ext == "csv":
        # werkzeug adds "; charset=utf-8" to a text/ mimetype itself.
        data, mimetype = exports.csv_chunks(header, body), "text/csv"
    else:
        data = exports.xlsx_chunks(title, header, body)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    # Streamed: the rows are read and written while the response goes out.
    return Response(
        stream_with_context(data),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/targets", methods=["GET", "POST"])
@permissions.bureau_required
def targets():
    """Set the city-wide turnover target per year."""
    form = TargetForm()
    if request.method == "GET" and form.year.data is None:
        form.year.data = local_today().year
    if form.validate_on_submit():
        done, _ = submit(
            form,
            services.set_target,
            form.year.data,
            form.amount.data,
            current_user.id,
            form.note.data or "",
            success=f"已保存 {form.year.data} 年度目标。",
        )
        if done:
            return redirect(url_for("stats.targets"))
    # A refused form is shown again with each error under its field; a flash
    # of the same errors would say every one of them twice.
    rows = [(t, services.target_progress(t.year)) for t in services.all_targets()]
    return render_template("stats/targets.html", form=form, rows=rows), (
        400 if request.method == "POST" else 200
    )
