"""What every model resource shares: bad input is the caller's 4xx naming the field, in their language —
never FAB's 500 "Fatal error". Found by fuzzing the API from its own OpenAPI description
(tests/test_api_fuzz.py): FAB looks up a relation with whatever JSON it is given (an object, a list, a
number too large for the database), lets a duplicate or a missing value reach the database as an error,
and checks no ranges or choices."""
import math
import re

import prison
from flask import jsonify, request
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, validate
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services.errors import ServiceError

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def valid_id(value) -> bool:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


class ApiInterface(SQLAInterface):
    def get(self, id, *args, **kwargs):
        """An id no row can have (not a number, beyond the column's range) is simply not found."""
        if not valid_id(id):
            return None
        return super().get(id, *args, **kwargs)


# ---------------------------------------------------------------- field validators, in the caller's language

def required(max_length: int):
    return validate.Length(min=1, max=max_length, error=_l("Between 1 and {max} characters, please."))


def one_of(mapping: dict):
    return validate.OneOf(list(mapping), error=_l("Choose one of: {choices}."))


def _finite(value):
    if value is not None and not math.isfinite(value):
        raise ValidationError(str(_l("Not a number.")))


def between(low, high):
    return validate.And(_finite, validate.Range(min=low, max=high, error=_l("Between {min} and {max}, please.")))


LATITUDE, LONGITUDE = between(-90, 90), between(-180, 180)


# ---------------------------------------------------------------- the resource base

class ServiceModelApi(ModelRestApi):
    """FAB's ModelRestApi with the checks above: relations by id only, a refused business rule or a
    duplicate as a 4xx naming the field, a query argument that does not parse as a 400."""

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(_readable_query)
        return blueprint

    def _refusal(self, exc: ServiceError):
        db.session.rollback()
        return self.response(exc.status_code, **exc.to_dict())

    def _relation_problems(self, columns) -> dict:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return {}  # FAB answers a body that is not a JSON object itself (400 / 422)
        problems = {}
        for name in set(payload) & set(columns):
            if not self.datamodel.is_relation(name):
                continue
            value = payload[name]
            if self.datamodel.is_relation_many_to_many(name) or self.datamodel.is_relation_one_to_many(name):
                if not isinstance(value, list) or not all(valid_id(v) for v in value):
                    problems[name] = [_("A list of ids, please.")]
            elif value is not None and not valid_id(value):
                problems[name] = [_("Not a valid id.")]
        return problems

    def _write(self, write, columns, schema, partial=False):
        problems = self._relation_problems(columns)
        if problems:
            # All that is wrong at once: the other fields checked as FAB would, without the unusable relations.
            rest = {k: v for k, v in request.get_json().items() if k not in problems}
            return self.response_422(message={**schema.validate(rest, partial=partial), **problems})
        try:
            return write()
        except ServiceError as exc:
            return self._refusal(exc)
        except IntegrityError as exc:
            db.session.rollback()
            return self.response_422(message=_integrity_message(exc))

    def post_headless(self):
        return self._write(super().post_headless, self.add_columns, self.add_model_schema)

    def put_headless(self, pk):
        if not valid_id(pk):
            return self.response_404()
        return self._write(lambda: super(ServiceModelApi, self).put_headless(pk), self.edit_columns,
                           self.edit_model_schema, partial=True)


def _readable_query():
    """FAB reads `?q=` as Rison and catches only the parser's own error; a number it cannot convert (say
    -3.1e+16) raised a ValueError through to a 500."""
    value = request.args.get("q")
    if not value:
        return None
    try:
        prison.loads(value)
    except prison.decoder.ParserException:
        return None  # FAB's own answer (it also tries the value as JSON)
    except Exception:  # noqa: BLE001 - whatever else the parser raises, the argument is unreadable
        return jsonify(message=_("The q argument is not valid Rison.")), 400
    return None


_UNIQUE = (re.compile(r"UNIQUE constraint failed: \w+\.(\w+)"), re.compile(r"Key \((\w+)\)=.* already exists"))
_NOT_NULL = (re.compile(r"NOT NULL constraint failed: \w+\.(\w+)"), re.compile(r'null value in column "(\w+)"'))


def _integrity_message(exc: IntegrityError) -> dict:
    """The field a duplicate or missing value is in, from the database's own words (SQLite's or
    PostgreSQL's)."""
    text = str(exc.orig)
    for pattern in _UNIQUE:
        found = pattern.search(text)
        if found:
            return {found.group(1): [_("This value is already taken.")]}
    for pattern in _NOT_NULL:
        found = pattern.search(text)
        if found:
            return {found.group(1): [_("This field is required.")]}
    return {"_schema": [_("These values conflict with data already stored.")]}
