"""The application factory: config, database, AppBuilder (security, Babel), views, APIs and CLI."""
import logging
import os
import secrets

from flask import Flask
from flask_appbuilder import AppBuilder

from app import fab_fixes
from app.extensions import csrf, db, migrate
from app.services import load  # noqa: F401  (keeps every engineer's open-ticket load current on each flush)
from app.services import audit  # (its session listener logs changes to users, roles, tokens and settings)

log = logging.getLogger(__name__)


def _secret_key(app: Flask) -> str:
    """SECRET_KEY from the environment, else one kept in the instance folder across restarts."""
    if app.config.get("SECRET_KEY"):
        return app.config["SECRET_KEY"]
    path = os.path.join(app.config["INSTANCE_DIR"], "secret_key")
    if os.path.exists(path):
        with open(path) as fh:
            return fh.read().strip()
    key = secrets.token_hex(32)
    with open(path, "w") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=None)
    app.config.from_object("config")
    if overrides:
        app.config.update(overrides)
    os.makedirs(app.config["INSTANCE_DIR"], exist_ok=True)
    if app.config.get("PROXY_FIX_HOPS"):
        # Behind nginx: the client's address (the portal's rate limits) and scheme come from its headers.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.config["SECRET_KEY"] = _secret_key(app)
    from app import security

    security.configure(app)
    from app import limit_storage

    limit_storage.configure(app)  # before AppBuilder: its Flask-Limiter takes the storage as configured
    audit.set_context_source(security.audit_actor)

    from app import models  # noqa: F401  (every table on Model.metadata before AppBuilder starts)

    db.init_app(app)
    csrf.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                     render_as_batch=True, compare_type=True)

    with app.app_context():
        fab_fixes.apply()
        appbuilder = AppBuilder(base_template="base.html", security_manager_class=security.ServiceSecurityManager)
        appbuilder.init_app(app, db.session)
        from app.views import register_views
        from app.api import register_apis
        from app.locale import install_locale_selector

        register_views(appbuilder)
        register_apis(appbuilder)
        install_locale_selector(app)

    from app.cli import register_cli
    from app.errors import register_error_handlers
    from app.views.formatting import register_template_helpers

    from app.portal import register_portal

    register_portal(app)
    security.install_headers(app)
    register_cli(app)
    register_error_handlers(app)
    register_template_helpers(app)
    return app
