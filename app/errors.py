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


def register_error_handlers(app) -> None:
    app.register_error_handler(ServiceError, _service_error)
