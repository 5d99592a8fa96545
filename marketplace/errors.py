"""Error pages in Chinese (JSON under /api/), with no traceback ever shown."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from marketplace import audit

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("请求无效", "请求的内容不完整或格式不对，请返回后重试。"),
    401: ("需要登录", "请先登录。"),
    403: ("无权访问", "您没有权限查看或执行此操作。"),
    404: ("页面不存在", "您访问的页面不存在，或已被删除。"),
    405: ("不支持的请求方式", "此页面不接受这种请求方式。"),
    413: ("上传内容过大", "提交的内容超过了大小限制。"),
    429: ("操作过于频繁", "尝试次数过多，请稍后再试。"),
    500: ("服务器出错", "服务器处理请求时出错，我们已记录此问题，请稍后再试。"),
}


def _render(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, (f"错误 {code}", "请求未能完成。"))
    if detail:
        message = detail
    if request.path.startswith("/api/"):
        return jsonify(error=title, message=message, status=code), code
    try:
        page = render_template(
            "errors/error.html", code=code, title=title, message=message
        )
    except Exception:  # e.g. the database is down: still answer in Chinese
        log.exception("could not render the error page")
        page = f"<!doctype html><title>{title}</title><h1>{code} {title}</h1>"
    return page, code


def _http_error(error: HTTPException):
    code = error.code or 500
    if code == 403:
        try:
            audit.record_alone("denied", note=f"{request.method} {request.path}")
        except Exception:  # the 403 page must not turn into a 500
            log.exception("could not record a denial")
    return _render(code)


def _csrf_error(error: CSRFError):
    return _render(400, "表单已过期或缺少安全校验（CSRF），请刷新页面后重新提交。")


def _unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _render(500)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
