"""Extension singletons. AppBuilder itself is created inside create_app() (FAB 5 requirement)."""
from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from app import sqlite_transactions  # noqa: F401  (registers the engine event)

# FAB's security tables live on Model.metadata; sharing it keeps Alembic from proposing to drop them.
db = SQLA(metadata=Model.metadata)
migrate = Migrate()
# Every form post is CSRF-checked; FAB exempts its token-authenticated REST APIs.
csrf = CSRFProtect()
