"""Factories that create committed rows and hand them back detached."""

from __future__ import annotations

import itertools

from marketplace.auth.services import create_organisation, create_user
from marketplace.creditcode import make_credit_code
from marketplace.extensions import db
from marketplace.models import OrgKind, UserRole

_serial = itertools.count(1)


class Factory:
    """Create organisations and users through the real service verbs."""

    def __init__(self, app, password: str):
        self.app = app
        self.password = password

    def _detach(self, obj):
        db.session.refresh(obj)
        db.session.expunge(obj)
        return obj

    def org(
        self,
        kind: OrgKind | str = OrgKind.ENTERPRISE,
        verified: bool = True,
        region_code: str = "411702",
        name: str | None = None,
    ):
        """An organisation of the given kind."""
        number = next(_serial)
        with self.app.app_context():
            org = create_organisation(
                name=name or f"测试{OrgKind(kind).label}{number}",
                kind=kind,
                region_code=region_code,
                credit_code=make_credit_code(region_code, number),
                verified=verified,
            )
            db.session.commit()
            return self._detach(org)

    def user(
        self,
        org,
        role: UserRole | str = UserRole.MEMBER,
        is_sysadmin: bool = False,
        email: str | None = None,
        password: str | None = None,
    ):
        """A user of the organisation, with the shared test password by default."""
        with self.app.app_context():
            org = db.session.merge(org, load=True)
            user = create_user(
                org=org,
                email=email or f"user{next(_serial)}@example.cn",
                password=password or self.password,
                name="测试用户",
                role=role,
                is_sysadmin=is_sysadmin,
            )
            db.session.commit()
            return self._detach(user)
