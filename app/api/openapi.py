"""What /api/v1/_openapi says the API answers — kept equal to what it does answer (tests/test_api_fuzz.py checks
every generated request's status code, content type and body against it).

Flask-AppBuilder writes each operation's answers in its own docstrings, and some of them say otherwise than its
code does: ids are integers (it says strings), `_info` lists columns (it says an object), a 4xx message can be
a field → messages object (it says a string), an operation answers 403, 404, 409 or 413 it does not list, the
menu's separators are "-" strings. Here, through FAB's own declarations:

- `BaseApi.responses`: the error answers every operation refers to (`#/components/responses/4xx`), all the
  `Error` schema below — FAB's own APIs (login, menu) included, so they are set on BaseApi itself;
- `model_operations()`: the answers of the model resources' operations (ServiceModelApi.openapi_spec_methods);
- `install()`: the answers of FAB's login and menu.

The model fields' own types (dates with their offset, prices as decimal strings, relations that may be null)
come from the schemas: app.api.base.ServiceSchemaConverter.
"""
from marshmallow import Schema, fields

ERROR = {"$ref": "#/components/schemas/Error"}


class ErrorSchema(Schema):
    """Every refusal: 4xx JSON with a message in the caller's language."""

    __component_name__ = "Error"

    message = fields.Raw(required=True, metadata={
        "description": "What is wrong, in the caller's language (Accept-Language or ?_l_=; Chinese by default). "
                       "For a 422, an object: each field at fault → its messages.",
        "oneOf": [{"type": "string"},
                  {"type": "object", "additionalProperties": {
                      "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]}}]})
    field = fields.String(metadata={
        "description": "The input at fault, when there is one: a field's name or dotted path "
                       "(`customer.phone`), `body` for the body as a whole"})


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


ERROR_RESPONSES = {
    "400": _error("The body or an argument cannot be read (not JSON, not an object, not UTF-8, a `q` that is not "
                  "Rison), or a business rule refused a value; `field` names the input at fault"),
    "401": _error("Not logged in: no token, a token that is not valid or has expired, a wrong login or password"),
    "403": _error("Logged in, without the permission for this"),
    "404": _error("No such record, or not one this user may see"),
    "409": _error("Someone else saved in between (If-Match), or the record's state does not allow it"),
    "413": _error("The body is larger than the limit"),
    "422": _error("Values refused: `message` maps each field at fault to its messages"),
    "429": _error("Too many login attempts from this address; wait a little"),
    "500": _error("Server error — never expected: the fuzz test fails on one"),
}


def errors(*codes) -> dict:
    return {str(code): {"$ref": f"#/components/responses/{code}"} for code in codes}


def answer(description: str, properties: dict, required=()) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_STRINGS = {"type": "array", "items": {"type": "string"}}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"},
           "description": "Each column → its label, in the caller's language"}


def model_operations(api_name: str) -> dict:
    """The answers of a ModelRestApi's operations (FAB's openapi_spec_methods): FAB's own docstrings give
    the parameters and the request bodies."""
    def schema(kind):
        return {"$ref": f"#/components/schemas/{api_name}.{kind}"}

    return {
        "get_list": {"get": {"responses": {
            "200": answer("One page of the records this user may see", {
                "count": {"type": "integer", "description": "All the records the filters match"},
                "ids": {"type": "array", "items": {"type": "integer"}},
                "result": {"type": "array", "items": schema("get_list"),
                           "description": "The columns asked for (`columns`), else all the list's"},
                "list_columns": _STRINGS, "order_columns": _STRINGS, "label_columns": _LABELS,
                "description_columns": _LABELS, "list_title": {"type": "string"}}, required=("count", "ids", "result")),
            **errors(400, 401, 403)}}},
        "get": {"get": {"responses": {
            "200": answer("One record", {
                "id": {"type": "integer"}, "result": schema("get"), "show_columns": _STRINGS,
                "label_columns": _LABELS, "description_columns": _LABELS, "show_title": {"type": "string"}},
                required=("id", "result")),
            **errors(400, 401, 403, 404)}}},
        "info": {"get": {"responses": {
            "200": answer("What may be written, filtered, and by whom", {
                "add_columns": {"type": "array", "items": {"type": "object"}},
                "edit_columns": {"type": "array", "items": {"type": "object"}},
                "filters": {"type": "object", "additionalProperties": {"type": "array", "items": {
                    "type": "object", "properties": {"name": {"type": "string"}, "operator": {"type": "string"}}}}},
                "permissions": _STRINGS, "add_title": {"type": "string"}, "edit_title": {"type": "string"}}),
            **errors(400, 401, 403)}}},
        "post": {"post": {"responses": {
            "201": answer("Created", {"id": {"type": "integer"}, "result": schema("post")}, required=("id", "result")),
            **errors(400, 401, 403, 409, 413, 422)}}},
        "put": {"put": {"responses": {
            "200": answer("Saved", {"result": schema("put")}, required=("result",)),
            **errors(400, 401, 403, 404, 409, 413, 422)}}},
        "delete": {"delete": {"responses": {
            "200": answer("Deleted", {"message": {"type": "string"}}, required=("message",)),
            **errors(401, 403, 404, 409)}}},
    }


_MENU_ITEM = {"type": "object", "properties": {
    "name": {"type": "string"}, "label": {"type": "string"}, "icon": {"type": "string"}, "url": {"type": "string"},
    "childs": {"type": "array", "items": {"oneOf": [
        {"type": "object"}, {"type": "string", "enum": ["-"], "description": "a separator"}]}}}}


def install() -> None:
    """The error answers, for every API (FAB's login and menu included), and what FAB's login and menu answer."""
    from flask_appbuilder.api import BaseApi
    from flask_appbuilder.menu import MenuApi
    from flask_appbuilder.security.api import SecurityApi

    BaseApi.responses = ERROR_RESPONSES
    SecurityApi.openapi_spec_methods = {"login": {"post": {"responses": {
        "200": answer("Logged in", {"access_token": {"type": "string"}, "refresh_token": {"type": "string"}},
                      required=("access_token",)),
        **errors(400, 401, 429)}}}}
    MenuApi.openapi_spec_methods = {"get_menu_data": {"get": {"responses": {
        "200": answer("The menu this user may use", {"result": {"type": "array", "items": _MENU_ITEM}}),
        **errors(401)}}}}
