"""技术转移撮合平台: the application factory."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from marketplace.config import build_config
from marketplace.extensions import csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config: dict | None = None) -> Flask:
    """Build and wire the application; no database work happens here."""
    app = Flask(
        __name__,
        instance_path=os.environ.get(
            "MARKETPLACE_INSTANCE", os.path.join(PROJECT_ROOT, "instance")
        ),
        instance_relative_config=True,
        template_folder=os.path.join(PROJECT_ROOT, "templates"),
        static_folder=os.path.join(PROJECT_ROOT, "static"),
    )
    app.config.from_mapping(build_config(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])
    register_extensions(app)
    from marketplace.views import IdConverter

    # Before any rule is added: ids too large for the database are a 404.
    app.url_map.converters["int"] = IdConverter
    register_blueprints(app)
    register_security(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_search(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the bare extension instances to this app."""
    from marketplace.database import configure_sqlite

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(PROJECT_ROOT, "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    # current_user reaches templates as a lazy global (templating.py) instead, so
    # an error page renders even when loading the user would fail.
    login_manager.init_app(app, add_context_processor=False)
    with app.app_context():
        # Creating the engine opens no connection; it only lets us hook it.
        configure_sqlite(db.engine)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature."""
    from marketplace.admin import bp as admin_bp
    from marketplace.api import bp as api_bp
    from marketplace.auth import bp as auth_bp
    from marketplace.bureau import bp as bureau_bp
    from marketplace.challenges import bp as challenges_bp
    from marketplace.contracts import bp as contracts_bp
    from marketplace.deals import bp as deals_bp
    from marketplace.demands import bp as demands_bp
    from marketplace.experts import bp as experts_bp
    from marketplace.files import bp as files_bp
    from marketplace.integrity import bp as integrity_bp
    from marketplace.main import bp as main_bp
    from marketplace.matching import bp as matching_bp
    from marketplace.messages import bp as messages_bp
    from marketplace.ndas import bp as ndas_bp
    from marketplace.notifications import bp as notifications_bp
    from marketplace.orgs import bp as orgs_bp
    from marketplace.panels import bp as panels_bp
    from marketplace.projects import bp as projects_bp
    from marketplace.proposals import bp as proposals_bp
    from marketplace.results import bp as results_bp
    from marketplace.stats import bp as stats_bp
    from marketplace.tokens import bp as tokens_bp
    from marketplace.tokens.services import init_app as init_tokens

    app.register_blueprint(main_bp)
    app.register_blueprint(matching_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(orgs_bp, url_prefix="/orgs")
    app.register_blueprint(bureau_bp, url_prefix="/bureau")
    app.register_blueprint(challenges_bp, url_prefix="/challenges")
    app.register_blueprint(results_bp, url_prefix="/results")
    app.register_blueprint(proposals_bp, url_prefix="/proposals")
    app.register_blueprint(deals_bp, url_prefix="/deals")
    app.register_blueprint(demands_bp, url_prefix="/demands")
    app.register_blueprint(contracts_bp, url_prefix="/contracts")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")
    app.register_blueprint(experts_bp, url_prefix="/experts")
    app.register_blueprint(panels_bp, url_prefix="/panels")
    app.register_blueprint(projects_bp, url_prefix="/projects")
    app.register_blueprint(integrity_bp, url_prefix="/integrity")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(stats_bp, url_prefix="/stats")
    app.register_blueprint(tokens_bp, url_prefix="/settings/tokens")
    app.register_blueprint(messages_bp, url_prefix="/messages")
    app.register_blueprint(ndas_bp, url_prefix="/ndas")
    # Editing published listings: /challenges/…/revise, /results/…/revise and
    # the bureau's /bureau/changes queue.
    from marketplace.revisions import bp as revisions_bp

    app.register_blueprint(revisions_bp)
    app.register_blueprint(files_bp, url_prefix="/files")
    init_tokens(app)


def register_security(app: Flask) -> None:
    """Login loading, security headers, rate-limit wiring and the page cache."""
    from marketplace import pagecache, security

    security.init_app(app)
    pagecache.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    """Generic Chinese error pages (JSON under /api/), never a traceback."""
    from marketplace import errors

    errors.init_app(app)


def register_template_helpers(app: Flask) -> None:
    """Jinja filters and globals (money, local time, labels)."""
    from marketplace import templating

    templating.init_app(app)


def register_search(app: Flask) -> None:
    """The outbox hooks and jieba's per-instance cache."""
    from marketplace.search import sync

    sync.init_app(app)


def register_commands(app: Flask) -> None:
    """Click commands under `flask --app wsgi …`."""
    from marketplace import cli

    cli.register_commands(app)
