"""What every model resource shares: bad input is the caller's 4xx naming the field, in their language —
never FAB's 500 "Fatal error" — and the OpenAPI description says what the answers really are. Found by
fuzzing the API from its own OpenAPI description (tests/test_api_fuzz.py): FAB looks up a relation with
whatever JSON it is given (an object, a list, a number too large for the database, an id no row has — which
marshmallow-sqlalchemy then makes a new row of), lets a duplicate or a missing value reach the database as an
error, and checks no ranges or choices; and its schemas described naive times as RFC 3339 date-times, prices
as numbers (they are decimal strings), relations as never null and ids as strings."""
import copy
import json
import math
import re
from datetime import timezone

import jsonschema
import prison
from flask import jsonify, request
from flask_appbuilder.api import ModelRestApi, expose, safe
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.api.schemas import get_info_schema, get_item_schema, get_list_schema
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from app.api.openapi import ErrorSchema, model_operations
from app.extensions import db
from app.services.errors import ConcurrentEdit, ServiceError
from app.timeutil import as_utc

MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def valid_id(value) -> bool:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


class InUse(ServiceError):
    status_code = 409


class TooLarge(ServiceError):
    status_code = 413


class ApiInterface(SQLAInterface):
    def get(self, id, *args, **kwargs):
        """An id no row can have (not a number, beyond the column's range) is simply not found."""
        if not valid_id(id):
            return None
        return super().get(id, *args, **kwargs)

    def edit(self, item, commit: bool = True) -> None:
        """FAB hides why a save failed (a 422 quoting the database); the resource answers each reason itself."""
        try:
            super().edit(item, commit)
        except DatabaseException as exc:
            if isinstance(exc.__cause__, StaleDataError):
                raise ConcurrentEdit(_l("Someone else changed this at the same moment. Reload and try again.")) \
                    from None
            if isinstance(exc.__cause__, (IntegrityError, DataError)):
                raise exc.__cause__ from None
            raise

    def delete(self, item, commit: bool = True) -> None:
        try:
            super().delete(item, commit)
        except DatabaseException as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise InUse(_l("Other records still refer to this one; it cannot be deleted.")) from None
            raise


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


# ---------------------------------------------------------------- the wire types of the columns

class UtcDateTime(fields.DateTime):
    """The database holds naive UTC; on the wire a time carries its offset (RFC 3339, `+00:00`), as the OpenAPI
    `date-time` format requires. A time received with an offset is stored as UTC; one without is taken as UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return as_utc(super()._deserialize(value, attr, data, **kwargs))


class Money(fields.Decimal):
    """An amount (NUMERIC(10, 2)): exact, so a decimal string on the wire ("268.00"), as it always was — Flask
    writes a Decimal as a string; FAB described it as a number. A number is accepted on input too."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"type": "string", "format": "decimal", "pattern": r"^-?\d+\.\d{2}$",
                              "example": "268.00", **kwargs.get("metadata", {})}
        super().__init__(places=2, as_string=True, **kwargs)


_WIRE_TYPES = {fields.DateTime: UtcDateTime, fields.Decimal: Money}


def _retyped(field: fields.Field, cls) -> fields.Field:
    new = cls(required=field.required, allow_none=field.allow_none, validate=list(field.validators),
              load_default=field.load_default, dump_default=field.dump_default, load_only=field.load_only,
              dump_only=field.dump_only, metadata=dict(field.metadata))
    new.unique = getattr(field, "unique", False)
    return new


class ServiceSchemaConverter(Model2SchemaConverter):
    """FAB's model → marshmallow conversion, with the wire types above and with what the answers' schemas must
    say: a to-one relation whose key may be null is null on the wire; the list's and the show's schemas describe
    answers, which carry only the columns asked for (`?q=(columns:!(…))`), so none of their fields is required."""

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        field = super()._column2field(datamodel, column, nested=nested, parent_schema_name=parent_schema_name)
        if datamodel.is_relation(column.name):
            if datamodel.is_relation_many_to_one(column.name) and datamodel.is_nullable(column.name):
                field.allow_none = True
        else:
            cls = _WIRE_TYPES.get(type(field))
            if cls is not None:
                field = _retyped(field, cls)
        if nested:
            field.required = False
        return field


def _bounded(schema: dict) -> dict:
    """FAB's Rison argument schema with the bounds its code needs (a negative or huge page is a 400, not a
    database error)."""
    schema = copy.deepcopy(schema)
    if "page" in schema["properties"]:
        schema["properties"]["page"].update(minimum=0, maximum=1_000_000)
    return schema


QUERY_SCHEMAS = {"get_list": _bounded(get_list_schema), "get": _bounded(get_item_schema),
                 "info": _bounded(get_info_schema)}


# ---------------------------------------------------------------- the resource base

class ServiceModelApi(ModelRestApi):
    """FAB's ModelRestApi with the checks above: relations by id only, a refused business rule or a
    duplicate as a 4xx naming the field, a body or a query argument that does not parse as a 400."""

    model2schemaconverter = ServiceSchemaConverter
    openapi_spec_component_schemas = (ErrorSchema,)
    _apispec_parameter_schemas = {"get_info_schema": QUERY_SCHEMAS["info"],
                                  "get_item_schema": QUERY_SCHEMAS["get"],
                                  "get_list_schema": QUERY_SCHEMAS["get_list"]}

    def __init__(self):
        self.openapi_spec_methods = model_operations(self.__class__.__name__)
        super().__init__()

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(_readable_query)
        return blueprint

    # PUT and DELETE take an integer id, as GET does (FAB routes them with any text: GET /ticket/abc was a 405)

    @expose("/<int:pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        """Change a record: only the fields sent change.
        ---
        put:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            description: Model schema
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/{{self.__class__.__name__}}.put'
        """
        return self.put_headless(pk)

    @expose("/<int:pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    def delete(self, pk):
        """Delete a record (refused while other records refer to it).
        ---
        delete:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
        """
        return self.delete_headless(pk)

    def _refusal(self, exc: ServiceError):
        db.session.rollback()
        return self.response(exc.status_code, **exc.to_dict())

    def _relation_problems(self, payload: dict, columns) -> dict:
        problems = {}
        for name in set(payload) & set(columns):
            if not self.datamodel.is_relation(name):
                continue
            value = payload[name]
            if self.datamodel.is_relation_many_to_many(name) or self.datamodel.is_relation_one_to_many(name):
                if not isinstance(value, list) or not all(valid_id(v) for v in value):
                    problems[name] = [_("A list of ids, please.")]
                elif not self._all_exist(name, value):
                    problems[name] = [_("No record has one of these ids.")]
            elif value is not None and not valid_id(value):
                problems[name] = [_("Not a valid id.")]
            elif value is not None and not self._all_exist(name, [value]):
                problems[name] = [_("No record has this id.")]
        return problems

    def _all_exist(self, relation: str, ids) -> bool:
        """marshmallow-sqlalchemy turns an id no row has into a new, empty row of the related table."""
        model = self.datamodel.get_related_model(relation)
        wanted = {int(i) for i in ids}
        return not wanted or db.session.scalar(
            select(func.count()).select_from(model).where(model.id.in_(wanted))) == len(wanted)

    def _write(self, write, columns, schema, partial=False):
        try:
            payload = json_object()
            problems = {**_nul_problems(payload), **self._relation_problems(payload, columns)}
            if problems:
                # All that is wrong at once: the other fields checked as FAB would, without the unusable relations.
                rest = {k: v for k, v in payload.items() if k not in problems}
                return self.response_422(message={**schema.validate(rest, partial=partial), **problems})
            return write()
        except ServiceError as exc:
            return self._refusal(exc)
        except IntegrityError as exc:
            db.session.rollback()
            return self.response_422(message=_integrity_message(exc))
        except DataError:
            db.session.rollback()
            return self.response_422(message={"_schema": [_("A value is beyond what the database can store.")]})

    def post_headless(self):
        return self._write(super().post_headless, self.add_columns, self.add_model_schema)

    def put_headless(self, pk):
        if not valid_id(pk) or self.datamodel.get(pk, self._base_filters) is None:
            return self.response_404()
        return self._write(lambda: super(ServiceModelApi, self).put_headless(pk), self.edit_columns,
                           self.edit_model_schema, partial=True)

    def delete_headless(self, pk):
        try:
            return super().delete_headless(pk)
        except ServiceError as exc:
            return self._refusal(exc)

    def get_list_headless(self, **kwargs):
        try:
            return super().get_list_headless(**kwargs)
        except (OverflowError, DataError):
            db.session.rollback()
            return self.response(400, message=_("A filter value is beyond what the database can compare."),
                                 field="q.filters")


# ---------------------------------------------------------------- reading the request

def _nul_problems(payload: dict) -> dict:
    """Text holding NUL: SQLite would store it, PostgreSQL refuses it — refused alike, naming the field."""
    return {name: [_("Text may not contain the NUL character.")]
            for name, value in payload.items() if isinstance(value, str) and "\x00" in value}


def json_object() -> dict:
    """The request's body as a JSON object — or a ServiceError naming `body`: not sent as JSON, larger than
    MAX_CONTENT_LENGTH (413), not UTF-8, not JSON, or JSON of another kind than an object."""
    if not request.is_json:
        raise ServiceError(_("Send the body as JSON (Content-Type: application/json)."), field="body")
    try:
        body = request.get_json()
    except RequestEntityTooLarge:
        raise TooLarge(_("The request is larger than %(limit)s KB.",
                         limit=(request.max_content_length or 0) // 1024), field="body") from None
    except BadRequest:
        raise ServiceError(_("The body is not valid JSON (UTF-8)."), field="body") from None
    if not isinstance(body, dict):
        raise ServiceError(_("The body must be a JSON object."), field="body")
    field = _unencodable(body)
    if field is not None:  # "\ud800" is valid JSON but no text: it cannot be stored or sent on
        raise ServiceError(_("%(field)s: %(problem)s", field=field, problem=_("Not valid UTF-8 text.")), field=field)
    return body


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unencodable(value, path: str = "body") -> str | None:
    """The path of the first string in a parsed JSON value holding a lone UTF-16 surrogate, or None."""
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = path + "." + key if path != "body" else key
            found = _unencodable(key, inner) or _unencodable(item, inner)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _unencodable(item, f"{path}[{index}]")
            if found:
                return found
    return None


_KINDS = {"integer": _l("Not a valid integer."), "number": _l("Not a valid number."),
          "string": _l("Text is expected here."), "boolean": _l("Not a valid boolean (true or false)."),
          "array": _l("A list is expected here."), "object": _l("An object is expected here.")}


def _query_problem(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(`q.path`, message) of a Rison argument that does not fit its schema, in the caller's language."""
    path = ".".join(["q", *(str(p) for p in error.absolute_path)])
    if error.validator == "type" and isinstance(error.validator_value, str):
        return path, str(_KINDS.get(error.validator_value, _l("Not a valid value.")))
    if error.validator == "enum":
        return path, _("Must be one of: {choices}.").format(choices=", ".join(map(str, error.validator_value)))
    if error.validator in ("minimum", "maximum"):
        return path, _("Between {min} and {max}, please.").format(min=error.schema.get("minimum"),
                                                                 max=error.schema.get("maximum"))
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return f"{path}.{missing[0]}" if missing else path, _("This field is required.")
    return path, _("Not a valid value.")


def _readable_query():
    """`?q=` read as FAB reads it (Rison, else JSON) and checked against the operation's schema first, so that
    what is wrong is said in the caller's language and names the argument (FAB answers English, and a number
    Rison cannot convert, say -3.1e+16, raised a ValueError through to a 500)."""
    value = request.args.get("q")
    method = (request.endpoint or "").rpartition(".")[2]
    if not value or method not in QUERY_SCHEMAS:
        return None
    try:
        argument = prison.loads(value)
    except Exception:  # noqa: BLE001 - whatever the parser raises, the argument is unreadable as Rison
        try:
            argument = json.loads(value)
        except ValueError:
            return jsonify(message=_("The q argument is not valid Rison."), field="q"), 400
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft7Validator(QUERY_SCHEMAS[method]).iter_errors(argument))
    if error is not None:
        field, problem = _query_problem(error)
        return jsonify(message=_("%(field)s: %(problem)s", field=field, problem=problem), field=field), 400
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
