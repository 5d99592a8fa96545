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
        "org": {
            "type": "string",
            "description": "Poster; an anonymous challenge shows 某企业（县区、行业）",
        },
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
        "error": {
            "type": "string",
            "pattern": "^[a-z0-9_]+$",
            "description": "A stable English code for programs, e.g. invalid_integer.",
        },
        "message": {"type": "string", "description": "What went wrong, in Chinese."},
        "status": {"type": "integer"},
        "param": {"type": "string", "description": "The parameter at fault."},
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


_ROW = {
    "type": "object",
    "required": ["key"],
    "description": (
        "Amounts in integer fen. by=county rows have output_fen, absorption_fen,"
        " output_count, absorption_count; other rows contract_amount_fen,"
        " tech_amount_fen, count."
    ),
    "properties": {
        "key": {"type": "string"},
        "label": {"type": "string"},
        "contract_amount_fen": {"type": "integer"},
        "tech_amount_fen": {"type": "integer"},
        "count": {"type": "integer"},
        "output_fen": {"type": "integer"},
        "absorption_fen": {"type": "integer"},
        "output_count": {"type": "integer"},
        "absorption_count": {"type": "integer"},
    },
}
_TURNOVER = {
    "type": "object",
    "required": ["from", "to", "by", "rows", "total"],
    "properties": {
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "by": {"type": "string"},
        "unit": {"type": "string", "const": "fen"},
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Each figure's Chinese label, e.g. 到账金额（区间内）.",
        },
        "notes": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "What each figure counts, in Chinese.",
        },
        "rows": {"type": "array", "items": _ROW},
        "total": _ROW,
    },
}
_DATE = {"type": "string", "format": "date"}
_ERR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_TURNOVER_PATH = {
    "get": {
        "summary": "Turnover of registered contracts (bureau session or bearer token)",
        "security": [{"bearer": []}],
        "parameters": [
            {"name": "from", "in": "query", "required": False, "schema": _DATE},
            {"name": "to", "in": "query", "required": False, "schema": _DATE},
            {
                "name": "by",
                "in": "query",
                "required": False,
                "schema": {
                    "type": "string",
                    "enum": ["month", "quarter", "year", "county", "field", "type"],
                    "default": "month",
                },
            },
        ],
        "responses": {
            "200": {
                "description": "Rows and a total row, amounts in fen",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Turnover"}
                    }
                },
            },
            "400": {"description": "Bad parameters", "content": _ERR},
            "401": {"description": "Not logged in, no valid token", "content": _ERR},
            "403": {"description": "Not the bureau", "content": _ERR},
            "429": {"description": "Rate limit reached", "content": _ERR},
        },
    }
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
            "/stats/turnover": _TURNOVER_PATH,
        },
        "components": {
            "schemas": {
                "Item": _ITEM,
                "ItemList": _LIST,
                "Error": _ERROR,
                "Turnover": _TURNOVER,
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
