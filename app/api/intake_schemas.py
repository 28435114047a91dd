"""What the intake endpoints accept and answer. Error texts are lazy, so they read in the caller's language.
The schemas are also the endpoints' OpenAPI description (IntakeApi.openapi_spec_component_schemas)."""
import base64
import binascii

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.models.intake import IOT_SEVERITIES
from app.services.vocabulary import CHANNELS

# A value of the wrong type gets its field type's message (app.api.messages: "Text is expected here." …).
_MESSAGES = {
    "required": _l("This field is required."),
    "null": _l("This field may not be empty."),
}


def _text(max_len: int, required: bool = False, **kw):
    return fields.String(required=required, allow_none=not required, error_messages=_MESSAGES,
                         validate=validate.Length(max=max_len, error=_l("At most %(max)s characters.",
                                                                          max=max_len)), **kw)


class Base64Bytes(fields.Field):
    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "format": "byte"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ValidationError(_l("Not valid base64.")) from None


class IntakeCustomerSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = _text(100)
    phone = _text(40)
    email = _text(200)
    wechat_openid = _text(64)
    address = _text(300)


class IntakeAttachmentSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    filename = _text(255, required=True)
    content_type = _text(100)
    content_base64 = Base64Bytes(required=True, error_messages=_MESSAGES)


class IntakeSchema(Schema):
    """One customer report from any channel."""

    __component_name__ = "IntakeReport"

    class Meta:
        unknown = EXCLUDE

    channel = fields.String(required=True, error_messages=_MESSAGES,
                            validate=validate.OneOf(list(CHANNELS), error=_l("Unknown channel.")))
    customer = fields.Nested(IntakeCustomerSchema, required=True, error_messages=_MESSAGES)
    subject = _text(200)
    description = _text(20000)
    serial_number = _text(60)
    external_id = _text(200)
    attachments = fields.List(fields.Nested(IntakeAttachmentSchema), load_default=list, error_messages=_MESSAGES,
                              validate=validate.Length(max=10, error=_l("At most %(max)s attachments.", max=10)))


class IotSchema(Schema):
    """A connected device's alarm (or its recovery)."""

    __component_name__ = "IotAlarm"

    class Meta:
        unknown = EXCLUDE

    serial_number = _text(60, required=True)
    fault_code = _text(40, required=True)
    severity = fields.String(required=True, error_messages=_MESSAGES, validate=validate.OneOf(
        IOT_SEVERITIES, error=_l("One of: %(values)s.", values=", ".join(IOT_SEVERITIES))))
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None,
                                       error_messages={**_MESSAGES, "invalid": _l("Not an ISO 8601 time."),
                                                       "invalid_awareness": _l("Give the time zone.")})
    message = _text(2000)
    alarm_id = _text(200)
    recovered = fields.Boolean(load_default=False, error_messages=_MESSAGES)


class CallSchema(Schema):
    """A call record from the telephony system (CTI)."""

    __component_name__ = "CallRecord"

    class Meta:
        unknown = EXCLUDE

    caller = _text(40, required=True)
    call_id = _text(200, required=True)
    customer_name = _text(100)
    transcript = _text(20000)
    serial_number = _text(60)


# ---------------------------------------------------------------- what the endpoints answer (described, not loaded)

class IntakeAnswerCustomerSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    verified = fields.Boolean(required=True)


class IntakeAnswerAssetSchema(Schema):
    id = fields.Integer(required=True)
    serial_number = fields.String(required=True)


class IntakeSlaSchema(Schema):
    policy = fields.String(allow_none=True, required=True)
    first_response_due_at = fields.DateTime(allow_none=True, required=True)
    arrival_due_at = fields.DateTime(allow_none=True, required=True)
    resolution_due_at = fields.DateTime(allow_none=True, required=True)
    escalation_level = fields.Integer(required=True)


def _code(description: str):
    return fields.String(allow_none=True, metadata={"description": description})


class IntakeAnswerSchema(Schema):
    """What became of a report. The ticket's fields are there whenever a ticket was created or found (all
    but `ignored`)."""

    __component_name__ = "IntakeAnswer"

    outcome = fields.String(required=True, validate=validate.OneOf(
        ["created", "merged", "alarm_repeat", "alarm_recovered", "replied", "ignored"]))
    replayed = fields.Boolean(required=True, metadata={
        "description": "A retry of an earlier delivery (same Idempotency-Key or external id): nothing new was done"})
    reasons = fields.List(fields.Dict(), required=True, metadata={
        "description": "Every automatic decision and why: `code` (rule, sentiment, warranty, merged, review …), "
                       "its details, and `text`, the sentence in the caller's language"})
    id = fields.Integer()
    number = fields.String(metadata={"example": "SR20261122-000123"})
    status = fields.String(metadata={"example": "new"})
    status_label = fields.String()
    category = _code("Category code, e.g. fault")
    service_type = _code("Service type code, e.g. hardware_repair")
    priority = _code("Priority code, e.g. urgent")
    team = _code("Team code")
    assignee = fields.String(allow_none=True, metadata={"description": "The engineer's name"})
    duplicate_of = fields.String(allow_none=True, metadata={"description": "The open ticket's number it joined"})
    needs_review = fields.Boolean()
    warranty_status = fields.String(allow_none=True)
    customer = fields.Nested(IntakeAnswerCustomerSchema, allow_none=True)
    asset = fields.Nested(IntakeAnswerAssetSchema, allow_none=True)
    sla = fields.Nested(IntakeSlaSchema)


class CallerCardCustomerSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    tier = fields.String(required=True)
    verified = fields.Boolean(required=True)
    email = fields.String(allow_none=True, required=True)
    address = fields.String(allow_none=True, required=True)


class CallerCardAssetSchema(Schema):
    id = fields.Integer(required=True)
    serial_number = fields.String(required=True)
    product = fields.String(required=True)
    warranty_end = fields.Date(allow_none=True, required=True)
    warranty_status = fields.String(required=True)


class CallerCardTicketSchema(Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    status = fields.String(required=True)
    status_label = fields.String(required=True)
    subject = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


class CallerCardSchema(Schema):
    """Who is calling: the customer of a phone number, their devices and open tickets."""

    __component_name__ = "CallerCard"

    phone = fields.String(required=True)
    valid = fields.Boolean(required=True)
    customer = fields.Nested(CallerCardCustomerSchema, allow_none=True, required=True)
    assets = fields.List(fields.Nested(CallerCardAssetSchema), required=True)
    open_tickets = fields.List(fields.Nested(CallerCardTicketSchema), required=True)


def first_error(messages: dict, prefix: str = "") -> tuple[str, str]:
    """(field path, message) of the first problem in a marshmallow error dict."""
    for key, value in messages.items():
        if key == "_schema":  # the object itself is wrong (not an object): named by its own path
            path = prefix.rstrip(".") or "body"
        else:
            path = f"{prefix}{key}" if isinstance(key, str) else prefix.rstrip(".") + f"[{key}]"
        if isinstance(value, dict):
            return first_error(value, path + ".")
        if isinstance(value, list) and value:
            item = value[0]
            if isinstance(item, dict):
                return first_error(item, path + ".")
            return path, str(item)
        return path, str(value)
    return prefix.rstrip("."), str(_l("Not a valid value."))
