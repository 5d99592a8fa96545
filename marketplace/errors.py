"""Error pages in Chinese (JSON under /api/), with no traceback ever shown.

Every status werkzeug knows has a Chinese title and message here, so whatever
the app raises (abort, routing, Flask-Limiter, the body size limit) renders
templates/errors/error.html and passes through the after_request hook that sets
the security headers (marketplace.security). gunicorn runs with an unlimited
request line (Makefile, tests/live_server.py) so that an overlong URL reaches the
app, which answers it with its own 414 page (see MAX_URI_LENGTH).
"""

from __future__ import annotations

import logging
import re

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestURITooLarge
from werkzeug.http import HTTP_STATUS_CODES

from marketplace import audit

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("请求无效", "请求的内容不完整或格式不对，请返回后重试。"),
    401: ("需要登录", "请先登录。"),
    403: ("无权访问", "您没有权限查看或执行此操作。"),
    404: ("页面不存在", "您访问的页面不存在，或已被删除。"),
    405: ("不支持的请求方式", "此页面不接受这种请求方式。"),
    406: ("无法提供所需格式", "服务器无法按您的浏览器要求的格式返回内容。"),
    408: ("请求超时", "等待请求的时间过长，请重新提交。"),
    409: ("操作冲突", "该内容刚被他人修改，请刷新页面后重试。"),
    410: ("内容已删除", "您访问的内容已被永久删除。"),
    411: ("缺少内容长度", "请求缺少内容长度信息，请重新提交。"),
    412: ("前提条件不满足", "内容已发生变化，请刷新页面后重试。"),
    413: ("上传内容过大", "提交的内容超过了大小限制。"),
    414: ("网址过长", "网址太长，服务器无法处理。请缩短搜索词或返回上一页重试。"),
    415: ("不支持的内容类型", "提交的内容格式不受支持。"),
    416: ("请求范围无效", "所请求的内容范围无效。"),
    417: ("无法满足期望", "服务器无法满足请求中的期望条件。"),
    418: ("无法处理", "服务器拒绝处理此请求。"),
    421: ("请求发错了服务器", "此请求不应发往本服务器，请检查网址。"),
    422: ("内容无法处理", "提交的内容有误，请检查后重新提交。"),
    423: ("内容已锁定", "该内容已被锁定，暂时不能修改。"),
    424: ("依赖的操作失败", "之前的操作未完成，此操作无法进行。"),
    428: ("缺少前提条件", "请刷新页面后重新提交。"),
    429: ("操作过于频繁", "尝试次数过多，请稍后再试。"),
    431: ("请求头过大", "请求附带的信息（如 Cookie）过大，请清除本站 Cookie 后重试。"),
    451: ("依法不予显示", "根据法律法规，该内容不予显示。"),
    500: ("服务器出错", "服务器处理请求时出错，我们已记录此问题，请稍后再试。"),
    501: ("功能未实现", "服务器不支持此功能。"),
    502: ("网关错误", "上游服务器没有正常响应，请稍后再试。"),
    503: ("服务暂不可用", "服务器正忙或正在维护，请稍后再试。"),
    504: ("网关超时", "上游服务器响应超时，请稍后再试。"),
    505: ("协议版本不受支持", "服务器不支持此 HTTP 协议版本。"),
}
# The longest request target (path and query string) the app serves; longer gets
# our 414. gunicorn's own cap is lifted (--limit-request-line 0) because it would
# answer with its English page; 8,190 is gunicorn's largest finite limit, ample
# for every URL our pages build (a search with every filter is under 1,000) and
# small enough that nobody parses megabytes of query string.
MAX_URI_LENGTH = 8190


def api_code(code: int) -> str:
    """The stable English error code of an HTTP status, e.g. 404 -> not_found."""
    name = HTTP_STATUS_CODES.get(code, "error")
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _render(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, (f"错误 {code}", "请求未能完成。"))
    if detail:
        message = detail
    if request.path.startswith("/api/"):
        # Programs read `error`, a stable English code; people read `message`.
        return jsonify(error=api_code(code), message=message, status=code), code
    # The header then skips its counts: this page renders with the database down.
    g.error_page = True
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


def _refuse_long_uri() -> None:
    # gunicorn's RAW_URI and the dev server's REQUEST_URI are the target as sent.
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
    if len(raw) > MAX_URI_LENGTH:
        raise RequestURITooLarge()


def init_app(app: Flask) -> None:
    """Register the handlers, and the URL length check ahead of every other hook."""
    # First of all: before the page cache, the rate limiter or the NUL-byte check
    # parse the query string.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_long_uri)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
