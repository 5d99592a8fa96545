"""schemathesis against /api/v1/openapi.json: no server errors, answers as documented.

The schema is loaded from the WSGI app the test builds, so every operation runs
in-process against a small published catalogue; /stats/turnover is called with a
bureau member's bearer token so its 200 answers are checked too.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace.extensions import db
from marketplace.models import OrgKind, User
from marketplace.search.sync import get_index
from marketplace.tokens.services import create_token
from tests.factories import make_challenge, make_result

EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def app_config(app_config):
    """No rate limit (the fuzzer would hit 429s) and the index kept in step."""
    return {**app_config, "RATELIMIT_ENABLED": False, "SEARCH_SYNC_ON_COMMIT": True}


@pytest.fixture
def bearer(app, factory):
    """A catalogue of published listings and a bureau member's API token."""
    firm = factory.org(OrgKind.ENTERPRISE)
    institute = factory.org(OrgKind.INSTITUTE)
    bureau = factory.org(OrgKind.BUREAU)
    staff = factory.user(bureau)
    with app.app_context():
        for n in range(3):
            make_result(institute.id, title=f"锂电池回收工艺{n}", external_id=f"R-{n}")
            make_challenge(firm.id, title=f"锂电池热失控预警{n}")
        get_index().reindex(db.session)
        secret = create_token(db.session.get(User, staff.id), "schemathesis")
        db.session.commit()
    return secret


def _labels() -> list[str]:
    from marketplace.api.openapi import document

    return [
        f"{method.upper()} {path}"
        for path, item in document()["paths"].items()
        for method in item
    ]


# schemathesis.pytest.from_fixture does not work with pytest 9 (it reads the
# removed Node._nodeid), so each operation's strategy is drawn from directly.
@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
@pytest.mark.parametrize("label", _labels())
def test_api_conforms_to_its_schema(app, bearer, label, mode):
    """Anonymous calls, and for /stats/turnover the bureau's bearer token too."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    checks = CHECKS if mode == GenerationMode.POSITIVE else [not_a_server_error]
    auth = {"Authorization": f"Bearer {bearer}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        case.call_and_validate(checks=checks)
        if operation.path == "/stats/turnover":
            case.call_and_validate(headers=auth, checks=checks)

    run()


def test_the_schema_lists_every_api_rule(app):
    """A new /api/v1 route cannot escape the fuzzer by missing from the document."""
    from marketplace.api.openapi import document

    documented = set(document()["paths"])
    rules = {
        r.rule.removeprefix("/api/v1").replace("<int:", "{").replace(">", "}")
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/") and r.rule != "/api/v1/openapi.json"
    }
    assert rules == documented
