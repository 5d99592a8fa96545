"""Bare extension instances; the factory binds them to an app."""

from flask import has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from marketplace.models.base import Base

MAX_PAGE = 10_000


class _SQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy whose paginate() caps the ?page= it reads by itself."""

    def paginate(self, select, *, page=None, **kwargs):
        """As SQLAlchemy.paginate; a huge ?page= no longer overflows the OFFSET."""
        if page is None and has_request_context():
            asked = request.args.get("page", type=int)
            page = MAX_PAGE if asked is not None and asked > MAX_PAGE else None
        return super().paginate(select, page=page, **kwargs)


db = _SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
