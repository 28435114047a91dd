"""Every message a REST caller reads, in the caller's language (app.locale: `?_l_=`, else Accept-Language, else
Chinese) — including the ones the libraries under the API write in English:

- marshmallow: each field type's and each validator's default message ("Missing data for required field.",
  "Not a valid integer.", "Unknown field.", "Longer than maximum length 40." …) is replaced once, here, by a
  message id that is translated when the error is raised — that is, during the caller's request;
- Flask-AppBuilder: the fixed English of its API answers (404 "Not found", 400 "Not a valid rison argument",
  "Request is not JSON", a filter or order column it does not take, 401, 403 …) is translated as the answer is
  made (`BaseApi.response`, which every FAB answer goes through);
- Flask-JWT-Extended: a missing, malformed, expired or wrong kind of token is a 401 `{"message"}` (it answered
  401 or 422 `{"msg"}` in English);
- werkzeug: an address under /api/ that does not exist, a method it does not take, a body it cannot read are
  JSON `{"message"}` like every other API answer, not an HTML page.

`install_marshmallow()` runs when this module is imported, which app/api/__init__.py does before any of the API's
schemas is made (a marshmallow field copies its messages when it is made). Schemas made earlier — FAB makes its
login schema when it is imported — still carry marshmallow's English: those texts are recognised in the answer and
translated like FAB's own. Range's default messages are not replaced (marshmallow formats them when the validator
is made, outside any request): every Range this API uses says its own message (app.api.base.between).
"""
import re

from flask import current_app, jsonify, request
from flask_babel import gettext
from flask_babel import lazy_gettext
from marshmallow import Schema, fields, validate
from marshmallow_sqlalchemy import fields as sqla_fields

__all__ = ["LazyText", "install_marshmallow", "install_api", "fab_text"]


class LazyText(str):
    """A message id that marshmallow takes for the message itself. marshmallow formats a field's or a
    validator's message (`msg.format(**details)`) when it raises the error — inside the caller's request — and
    that is when the translation is looked up. (`str()` of it is the English id: only marshmallow's formatting
    translates it. A message stored without formatting — the schema's own — is a flask_babel lazy string.)"""

    __slots__ = ()

    def format(self, *args, **kwargs):
        return gettext(str(self)).format(*args, **kwargs)


def _l(message: str) -> LazyText:
    """Marks a message id for the catalogue (`make babel` finds `_l`) and makes it a LazyText."""
    return LazyText(message)


# ---------------------------------------------------------------- marshmallow

def _field_messages():
    object_expected = _l("An object is expected here.")
    return {
        fields.Field: {"required": _l("This field is required."), "null": _l("This field may not be empty."),
                       "validator_failed": _l("Not a valid value.")},
        fields.Nested: {"type": object_expected},
        fields.Mapping: {"invalid": object_expected},
        fields.List: {"invalid": _l("A list is expected here.")},
        fields.Tuple: {"invalid": _l("A list is expected here.")},
        fields.String: {"invalid": _l("Text is expected here."), "invalid_utf8": _l("Not valid UTF-8 text.")},
        fields.UUID: {"invalid_uuid": _l("Not a valid UUID.")},
        fields.Number: {"invalid": _l("Not a valid number."), "too_large": _l("The number is too large.")},
        fields.Integer: {"invalid": _l("Not a valid integer.")},
        fields.Float: {"special": _l("Not a number.")},
        fields.Decimal: {"special": _l("Not a number.")},
        fields.Boolean: {"invalid": _l("Not a valid boolean (true or false).")},
        fields.DateTime: {"invalid": _l("Not a valid date and time (ISO 8601, e.g. 2026-05-01T09:30:00+08:00).")},
        fields.NaiveDateTime: {"invalid_awareness": _l("Give the time without a time zone.")},
        fields.AwareDateTime: {"invalid_awareness": _l("Give the time zone.")},
        fields.Date: {"invalid": _l("Not a valid date (YYYY-MM-DD).")},
        fields.Time: {"invalid": _l("Not a valid time (HH:MM).")},
        fields.TimeDelta: {"invalid": _l("Not a valid period of time.")},
        fields.Url: {"invalid": _l("Not a valid URL.")},
        fields.Email: {"invalid": _l("Not a valid e-mail address.")},
        fields.IP: {"invalid_ip": _l("Not a valid IP address.")},
        fields.Enum: {"unknown": _l("Must be one of: {choices}.")},
        sqla_fields.Related: {"invalid": _l("Not a valid id.")},
    }


def _validator_messages():
    return {
        validate.Length: {"message_min": _l("Length must be at least {min}."),
                          "message_max": _l("Length must be at most {max}."),
                          "message_all": _l("Length must be between {min} and {max}."),
                          "message_equal": _l("Length must be {equal}.")},
        validate.OneOf: {"default_message": _l("Must be one of: {choices}.")},
        validate.Email: {"default_message": _l("Not a valid e-mail address.")},
        validate.URL: {"default_message": _l("Not a valid URL.")},
        validate.Regexp: {"default_message": _l("Not in the expected format.")},
        validate.Equal: {"default_message": _l("Must be equal to {other}.")},
        validate.Predicate: {"default_message": _l("Not a valid value.")},
        validate.NoneOf: {"default_message": _l("Not a valid value.")},
        validate.ContainsOnly: {"default_message": _l("One or more of the choices are not in: {choices}.")},
        validate.ContainsNoneOf: {"default_message": _l("One or more of the choices are in: {values}.")},
    }


# marshmallow's English message → ours, for the schemas made before install_marshmallow (see fab_text)
_MARSHMALLOW_ENGLISH: list[tuple[re.Pattern, LazyText]] = []


def _english_pattern(template: str) -> re.Pattern:
    """marshmallow's message template as a pattern of the text it formats ("Longer than maximum length {max}.")."""
    parts = re.split(r"\{(\w+)(?:![rsa])?\}", template)
    pattern = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)" for i, part in enumerate(parts))
    return re.compile(pattern + r"\Z", re.S)


def install_marshmallow() -> None:
    """marshmallow's messages, in the caller's language, for every field and schema made from now on."""
    if getattr(Schema, "_translated_messages", False):
        return
    for cls, messages in _field_messages().items():
        own = cls.__dict__.get("default_error_messages", {})
        _MARSHMALLOW_ENGLISH.extend((_english_pattern(own[k]), m) for k, m in messages.items() if k in own)
        cls.default_error_messages = {**own, **messages}
    for cls, messages in _validator_messages().items():
        for name, message in messages.items():
            _MARSHMALLOW_ENGLISH.append((_english_pattern(getattr(cls, name)), message))
            setattr(cls, name, message)
    for key, message in (("type", "An object is expected here."), ("unknown", "Unknown field.")):
        _MARSHMALLOW_ENGLISH.append((_english_pattern(Schema._default_error_messages[key]), _l(message)))
    # A schema stores these two as they are (never formatted): lazy strings, rendered when the answer is written.
    Schema._default_error_messages = {"type": lazy_gettext("An object is expected here."),
                                      "unknown": lazy_gettext("Unknown field.")}
    Schema._translated_messages = True


install_marshmallow()


# ---------------------------------------------------------------- Flask-AppBuilder's fixed English

_FAB_EXACT = {
    "Not found": _l("Not found."),
    "Not authorized": _l("Not authorised: the login, the password or the token is not valid."),
    "Forbidden": _l("You do not have permission to do this."),
    "Could not process entity": _l("These values could not be processed."),
    "Arguments are not correct": _l("The arguments are not correct."),
    "Request is not JSON": _l("Send the body as JSON (Content-Type: application/json)."),
    "Request payload is not JSON": _l("Send the body as JSON (Content-Type: application/json)."),
    "Not a valid rison argument": _l("The q argument is not valid Rison."),
    "Not a valid rison/json argument": _l("The q argument is not valid Rison."),
    "Cannot use both select and sel columns": _l("Use either columns or select_columns, not both."),
    "Alternative authentication provider is not allowed": _l("Log in with the provider db."),
    "Password null is not allowed": _l("This field may not be empty."),
    "Fatal error": _l("Something went wrong on the server."),
    "Internal error": _l("Something went wrong on the server."),
}

_FAB_PATTERNS = [
    (re.compile(r"Filter column: (?P<column>.*) not allowed to filter\Z", re.S),
     _l("Column {column} cannot be filtered.")),
    (re.compile(r"Filter operation: (?P<operation>.*) not allowed on column: (?P<column>.*)\Z", re.S),
     _l("Filter {operation} is not allowed on column {column}.")),
    (re.compile(r"Invalid order by column: (?P<column>.*)\Z", re.S), _l("Cannot sort by {column}.")),
    (re.compile(r"Not a valid rison schema", re.S), _l("The q argument is not valid.")),
    (re.compile(r"\d{3} [A-Za-z ]+: Failed to decode JSON object", re.S), _l("The body is not valid JSON.")),
    (re.compile(r"400 Bad Request", re.S), _l("The request could not be understood.")),
    (re.compile(r"Database exception occurred", re.S), _l("These values conflict with data already stored.")),
]


def fab_text(message):
    """A message as the caller should read it: FAB's English literals and marshmallow's (from a schema made
    before install_marshmallow) translated, in strings, lists and the field → messages dicts of a 4xx; anything
    else (our own messages, already translated) unchanged."""
    if isinstance(message, dict):
        return {key: fab_text(value) for key, value in message.items()}
    if isinstance(message, (list, tuple)):
        return [fab_text(value) for value in message]
    if isinstance(message, LazyText):
        return message.format()
    if not isinstance(message, str):
        return message
    known = _FAB_EXACT.get(message)
    if known is not None:
        return known.format()
    for pattern, text in _FAB_PATTERNS + _MARSHMALLOW_ENGLISH:
        found = pattern.match(message)
        if found:
            return text.format(**found.groupdict())
    return message


def _install_fab_response() -> None:
    from flask_appbuilder.api import BaseApi

    if getattr(BaseApi, "_translated_messages", False):
        return
    plain = BaseApi.response

    def response(code: int, **kwargs):
        if "message" in kwargs:
            kwargs["message"] = fab_text(kwargs["message"])
        return plain(code, **kwargs)

    response.__doc__ = plain.__doc__
    BaseApi.response = staticmethod(response)
    BaseApi._translated_messages = True


# ---------------------------------------------------------------- tokens and HTTP errors under /api/

def _refusal(message: LazyText, code: int):
    return jsonify(message=message.format()), code


def _install_jwt_answers(jwt_manager) -> None:
    """Every token problem is the caller's 401 {"message"} (RFC 6750 `invalid_token`), in their language."""
    missing = _l("Log in first: send the header Authorization: Bearer <access token>.")
    invalid = _l("The token is not valid: log in again.")
    expired = _l("The token has expired: log in again.")
    jwt_manager.unauthorized_loader(lambda reason: _refusal(missing, 401))
    jwt_manager.invalid_token_loader(lambda reason: _refusal(invalid, 401))
    jwt_manager.expired_token_loader(lambda header, data: _refusal(expired, 401))
    jwt_manager.needs_fresh_token_loader(lambda header, data: _refusal(invalid, 401))
    jwt_manager.revoked_token_loader(lambda header, data: _refusal(invalid, 401))
    jwt_manager.user_lookup_error_loader(lambda header, data: _refusal(invalid, 401))
    jwt_manager.token_verification_failed_loader(lambda header, data: _refusal(invalid, 401))


_HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    404: _l("Not found."),
    405: _l("This address does not take the method {method}."),
    413: _l("The request is too large."),
    415: _l("Send the body as JSON (Content-Type: application/json)."),
}


def _api_http_error(exc):
    """werkzeug's refusals of an /api/ request (no such address, a method the address does not take) as JSON
    in the caller's language; the console's and the portal's keep their pages."""
    if not request.path.startswith("/api/") or exc.code is None or exc.code < 400:
        return exc
    message = _HTTP_MESSAGES.get(exc.code)
    text = message.format(method=request.method) if message is not None else exc.name
    response = jsonify(message=text)
    response.status_code = exc.code
    if exc.code == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def install_api(appbuilder) -> None:
    """For one app: FAB's answers translated, token problems as 401s, werkzeug's refusals as JSON."""
    from werkzeug.exceptions import HTTPException

    _install_fab_response()
    _install_jwt_answers(appbuilder.sm.jwt_manager)
    current_app.register_error_handler(HTTPException, _api_http_error)
