"""The OpenAPI document of /api/v1, written out by hand and tested against the app."""

from __future__ import annotations

_ITEM = {
    "type": "object",
    "required": ["kind", "id", "title", "score", "matched_terms", "highlight"],
    "properties": {
        "kind": {"type": "string", "enum": ["result", "challenge"]},
        "id": {"type": "integer"},
        "external_id": {"type": ["string", "null"]},
        "title": {"type": "string"},
        "score": {"type": "number"},
        "matched_terms": {"type": "array", "items": {"type": "string"}},
        "highlight": {"type": "string", "description": "Escaped HTML with <mark>"},
    },
}
_LIST = {
    "type": "object",
    "required": ["total", "items"],
    "properties": {
        "total": {"type": "integer", "minimum": 0},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
    },
}
_ERROR = {
    "type": "object",
    "required": ["error", "message", "status"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "status": {"type": "integer"},
    },
}


def _limit(default: int = 10) -> dict:
    return {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": default},
    }


def _responses(not_found: bool = False) -> dict:
    ok = {"application/json": {"schema": {"$ref": "#/components/schemas/ItemList"}}}
    err = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    out = {
        "200": {"description": "Listings in rank order", "content": ok},
        "400": {"description": "Bad parameters", "content": err},
        "429": {"description": "Rate limit reached", "content": err},
        "503": {"description": "Index being rebuilt", "content": err},
    }
    if not_found:
        out["404"] = {"description": "No such published listing", "content": err}
    return out


def _by_id(name: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    }


def document() -> dict:
    """The OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "技术转移撮合平台 API",
            "version": "1.0.0",
            "description": "Search and match published challenges and results.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/search": {
                "get": {
                    "summary": "Keyword search (OR semantics, field boosts)",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 200,
                            },
                        },
                        {
                            "name": "kind",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "string",
                                "enum": ["result", "challenge"],
                            },
                        },
                        _limit(),
                        {
                            "name": "page",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                        },
                    ],
                    "responses": _responses(),
                }
            },
            "/match": {
                "post": {
                    "summary": "Listings that fit a free-text description",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {
                                        "text": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 5000,
                                        },
                                        "kind": {
                                            "type": "string",
                                            "enum": ["result", "challenge"],
                                        },
                                        "limit": {
                                            "type": "integer",
                                            "minimum": 1,
                                            "maximum": 50,
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": _responses(),
                }
            },
            "/challenges/{challenge_id}/matches": {
                "get": {
                    "summary": "Results that fit a published challenge",
                    "parameters": [_by_id("challenge_id"), _limit()],
                    "responses": _responses(not_found=True),
                }
            },
            "/results/{result_id}/matches": {
                "get": {
                    "summary": "Open challenges that fit a published result",
                    "parameters": [_by_id("result_id"), _limit()],
                    "responses": _responses(not_found=True),
                }
            },
        },
        "components": {"schemas": {"Item": _ITEM, "ItemList": _LIST, "Error": _ERROR}},
    }
