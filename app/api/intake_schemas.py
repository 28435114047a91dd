"""What the intake endpoints accept. Error texts are lazy, so they read in the caller's language."""
import base64
import binascii

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.models.intake import IOT_SEVERITIES
from app.services.vocabulary import CHANNELS

_MESSAGES = {
    "required": _l("This field is required."),
    "null": _l("This field may not be empty."),
    "invalid": _l("Not a valid value."),
}


def _text(max_len: int, required: bool = False, **kw):
    return fields.String(required=required, allow_none=not required, error_messages=_MESSAGES,
                         validate=validate.Length(max=max_len, error=_l("At most %(max)s characters.",
                                                                          max=max_len)), **kw)


class Base64Bytes(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ValidationError(_l("Not valid base64.")) from None


class CustomerSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = _text(100)
    phone = _text(40)
    email = _text(200)
    wechat_openid = _text(64)
    address = _text(300)


class AttachmentSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    filename = _text(255, required=True)
    content_type = _text(100)
    content_base64 = Base64Bytes(required=True, error_messages=_MESSAGES)


class IntakeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    channel = fields.String(required=True, error_messages=_MESSAGES,
                            validate=validate.OneOf(list(CHANNELS), error=_l("Unknown channel.")))
    customer = fields.Nested(CustomerSchema, required=True, error_messages=_MESSAGES)
    subject = _text(200)
    description = _text(20000)
    serial_number = _text(60)
    external_id = _text(200)
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list, error_messages=_MESSAGES,
                              validate=validate.Length(max=10, error=_l("At most %(max)s attachments.", max=10)))


class IotSchema(Schema):
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
    class Meta:
        unknown = EXCLUDE

    caller = _text(40, required=True)
    call_id = _text(200, required=True)
    customer_name = _text(100)
    transcript = _text(20000)
    serial_number = _text(60)


def first_error(messages: dict, prefix: str = "") -> tuple[str, str]:
    """(field path, message) of the first problem in a marshmallow error dict."""
    for key, value in messages.items():
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
