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
        return jsonify({"message": message}), 413
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


def register_error_handlers(app) -> None:
    from sqlalchemy.orm.exc import StaleDataError
    from werkzeug.exceptions import RequestEntityTooLarge

    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(StaleDataError, _stale)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
