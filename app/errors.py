"""A refused business rule is the caller's mistake (4xx naming the field), never a 500."""
from flask import flash, jsonify, redirect, request

from app.extensions import db
from app.services.errors import ServiceError


def _service_error(exc: ServiceError):
    db.session.rollback()
    if request.path.startswith("/api/"):
        return jsonify(exc.to_dict()), exc.status_code
    flash(str(exc), "danger")
    return redirect(request.referrer or "/")


def _too_large(exc):
    from flask_babel import gettext as _

    message = _("The request is larger than %(limit)s KB.", limit=(request.max_content_length or 0) // 1024)
    if request.path.startswith("/api/"):
        return jsonify({"message": message, "field": "body"}), 413
    if request.path.startswith("/portal"):
        from flask import render_template

        return render_template("portal/message.html", title=_("The photos are too large"),
                               text=_("Please send fewer or smaller photos."), back=True), 413
    return message, 413


def _stale(exc):
    """Two people saved the same thing at the same moment (a version column refused the second): tell the
    second one, as for any concurrent edit, instead of a server error."""
    from flask_babel import lazy_gettext as _l

    from app.services.errors import ConcurrentEdit

    return _service_error(ConcurrentEdit(_l("Someone else changed this at the same moment. Reload and try again.")))


def _out_of_range(exc) -> bool:
    """Whether the database refused a number too large for its integer columns: SQLite's driver cannot bind
    it (OverflowError), PostgreSQL answers "integer out of range"."""
    if isinstance(exc, OverflowError):
        return "SQLite INTEGER" in str(exc)
    from psycopg import errors as pg_errors

    return isinstance(getattr(exc, "orig", None), pg_errors.NumericValueOutOfRange)


def _id_out_of_range(exc):
    """An id too large for any row (a typo, a scanner, an edited address) names no row: a 404 like any
    missing one, on every route — the console's views and FAB's alike — rather than a check beside each lookup.
    (FAB's REST API catches errors before Flask does: app.api.base.ApiInterface checks its ids itself.)"""
    from flask import current_app
    from werkzeug.exceptions import NotFound

    if not _out_of_range(exc):
        raise exc
    db.session.rollback()
    if request.path.startswith("/api/"):
        from flask_babel import gettext as _

        return jsonify({"message": _("Not found.")}), 404
    return current_app.handle_http_exception(NotFound())


def register_error_handlers(app) -> None:
    from sqlalchemy.exc import DataError
    from sqlalchemy.orm.exc import StaleDataError
    from werkzeug.exceptions import RequestEntityTooLarge

    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(StaleDataError, _stale)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(OverflowError, _id_out_of_range)
    app.register_error_handler(DataError, _id_out_of_range)
