"""A few seconds' cache of public pages as anonymous visitors see them.

Most traffic to a bureau's portal is anonymous: the home page, listing pages,
searches. Rendering one costs 10–25 ms (queries, explained matches, Jinja)
against well under 1 ms for a response that does no work, so each worker keeps
the HTML it last rendered for such a visitor, for PAGE_CACHE_SECONDS (0 turns
it off). A page is cached only when nothing about the visitor can be in it: a
GET without a session or remember cookie or an Authorization header, answered
200 with no Set-Cookie (a page that put a CSRF token into a new session sets
one, and so is never cached; marketplace.security marks every answer to a
logged-in user or to a request with such a cookie `Cache-Control: no-store`,
and an answer marked so is never cached either). The key holds the newest
search-outbox id and the state of this node's search index (generation,
commit, outbox position), so any change to a listing is seen at once; while
the index has not caught up with the outbox, pages are neither served from nor
put into the cache. Other changes (figures on the home page) show within
PAGE_CACHE_SECONDS.

A form an anonymous visitor may post from a cached page (the problem box of the
home page) asks for its CSRF token with `form_token()`: the cached HTML keeps a
slot, and each answer, fresh or from the cache, fills it with the token of the
visitor's own new session. So the page is rendered once per few seconds and
still no visitor gets another's token.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from flask import Flask, Response, current_app, g, request, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import SearchOutbox
from marketplace.search.sync import get_index
from marketplace.security import carries_credentials

ENDPOINTS = frozenset(
    {
        "main.index",
        "challenges.index",
        "challenges.detail",
        "results.index",
        "results.detail",
        "matching.search",
        "matching.match",
    }
)
MAX_ENTRIES = 256
MAX_BODY = 512 * 1024
# Stands for the visitor's CSRF token in a cached page (see form_token).
TOKEN_SLOT = "__page_cache_csrf_token__"  # noqa: S105 - a placeholder


class PageCache:
    """A bounded least-recently-used map of (path, version) to page bodies."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._items: OrderedDict[tuple, tuple[float, bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, ttl: float) -> tuple[bytes, str] | None:
        """The body and mimetype stored under key if younger than ttl seconds."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if time.monotonic() - item[0] > ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1], item[2]

    def put(self, key: tuple, body: bytes, mimetype: str) -> None:
        """Store a page, dropping the least recently used beyond max_entries."""
        with self._lock:
            self._items[key] = (time.monotonic(), body, mimetype)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self._items.clear()


def form_token() -> str:
    """The CSRF token for a form; a slot, filled per answer, on a cacheable page."""
    if g.get("page_cache_key") is not None:
        g.page_token_slot = True
        return TOKEN_SLOT
    return generate_csrf()


def _fill_token(body: bytes) -> bytes:
    slot = TOKEN_SLOT.encode()
    if slot not in body:
        return body
    # A new session for this visitor, with a token of its own.
    return body.replace(slot, generate_csrf().encode())


def skip() -> None:
    """Keep this request's page out of the cache (e.g. a degraded search page)."""
    g.page_cache_skip = True


def _anonymous_get() -> bool:
    if request.method != "GET" or request.endpoint not in ENDPOINTS:
        return False
    return not carries_credentials()


def _version() -> tuple | None:
    """The outbox head and the index state; None while the index lags behind."""
    head = db.session.scalar(select(func.max(SearchOutbox.id))) or 0
    state = get_index().state()
    if state.position < head:
        return None
    return (head, state)


def _serve_cached():
    ttl = current_app.config.get("PAGE_CACHE_SECONDS", 0)
    if not ttl or not _anonymous_get():
        return None
    version = _version()
    if version is None:
        return None
    key = (request.full_path, version)
    g.page_cache_key = key
    found = current_app.extensions["page_cache"].get(key, ttl)
    if found is None:
        return None
    g.page_cache_hit = True
    body, mimetype = found
    return Response(_fill_token(body), mimetype=mimetype)


def _store(response: Response) -> Response:
    if _cacheable(response):
        body = response.get_data()
        if len(body) <= MAX_BODY:
            current_app.extensions["page_cache"].put(
                g.page_cache_key, body, response.mimetype
            )
    if g.pop("page_token_slot", False):
        # Runs before security's hook, which then sees the new session and
        # marks this answer private.
        response.set_data(_fill_token(response.get_data()))
    return response


def _cacheable(response: Response) -> bool:
    key = g.get("page_cache_key")
    if key is None or g.get("page_cache_hit") or g.get("page_cache_skip"):
        return False
    return not (
        response.status_code != 200
        or response.is_streamed
        or "Set-Cookie" in response.headers
        # The session is saved after this hook, so its cookie is not set yet: a
        # page that put a CSRF token into a new session shows up only here.
        or session.modified
        # A view that marks its own answer private (the match page for posted
        # text) is kept out too, whoever asked.
        or response.cache_control.no_store
        or response.mimetype != "text/html"
    )


def init_app(app: Flask) -> None:
    """Serve cached pages before the view runs; store fresh ones after it."""
    app.extensions["page_cache"] = PageCache()
    app.jinja_env.globals["form_token"] = form_token
    app.before_request(_serve_cached)
    app.after_request(_store)
