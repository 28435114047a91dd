"""Intake over HTTP: one endpoint per kind of input, all calling app.services.intake.

Integrators authenticate with their channel's token (`X-Channel-Token`); staff tools with FAB's JWT.
Answers: 201 a ticket was created; 200 the report was merged, threaded or counted (or a retry of an
earlier delivery, marked `Idempotent-Replayed: true`); 4xx names the field.
"""
import functools

from flask import current_app, g, request
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext as _
from marshmallow import ValidationError

from app.access import current_user
from app.api.base import json_object
from app.api.intake_schemas import (CallerCardSchema, CallSchema, IntakeAnswerSchema, IntakeSchema, IotSchema,
                                    first_error)
from app.api.openapi import ErrorSchema, errors
from app.channels import email as email_channel
from app.extensions import db
from app.services import explain, recognise, rules, tokens
from app.services import status as st
from app.services.errors import ServiceError
from app.services.intake import Attachment, IntakeRequest, IntakeResult, intake
from app.timeutil import iso_utc, utcnow


def token_or_jwt(f):
    """A channel token (integrations) or a staff JWT with the endpoint's permission."""
    protected = protect()(f)

    @functools.wraps(f)
    def wrapper(self, *args, **kwargs):
        raw = request.headers.get("X-Channel-Token")
        if raw is None:
            g.channel_token = None
            return protected(self, *args, **kwargs)
        token = tokens.verify(db.session, raw, now=utcnow())
        if token is None:
            db.session.rollback()
            return self.response(401, message=_("Unknown or revoked channel token."))
        g.channel_token = token
        return f(self, *args, **kwargs)

    return wrapper


ANSWER = {"$ref": "#/components/schemas/IntakeAnswer"}


class IntakeApi(BaseApi):
    resource_name = "intake"
    class_permission_name = "IntakeApi"
    method_permission_name = {"create": "post", "email": "post", "iot": "post", "call": "post", "caller": "get"}
    openapi_spec_tag = "Intake"
    openapi_spec_component_schemas = (ErrorSchema, IntakeSchema, IotSchema, CallSchema, IntakeAnswerSchema,
                                      CallerCardSchema)
    # What every delivery may answer besides 201/200 (FAB's openapi_spec_methods, merged into each docstring's)
    openapi_spec_methods = {name: {"post": {"responses": {
        "201": {"description": "A ticket was created", "content": {"application/json": {"schema": ANSWER}}},
        "200": {"description": "Merged into the open ticket it repeats, threaded onto a ticket, counted on an "
                               "alarm's ticket, ignored (an auto-reply, a recovery without an alarm), or a retry "
                               "of an earlier delivery",
                "headers": {"Idempotent-Replayed": {
                    "description": "`true` on a retry of an earlier delivery", "schema": {"type": "string"}}},
                "content": {"application/json": {"schema": ANSWER}}},
        **errors(400, 401, 403, 413)}}} for name in ("create", "email", "iot", "call")}
    openapi_spec_methods["caller"] = {"get": {"responses": {
        "200": {"description": "The caller card; `customer` is null for an unknown number",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallerCard"}}}},
        **errors(400, 401, 403)}}}

    # --- helpers ---

    def _too_large(self, limit_kb: int):
        length = request.content_length
        if length is not None and length > limit_kb * 1024:
            return self.response(413, message=_("The request is larger than %(limit)s KB.", limit=limit_kb),
                                 field="body")
        return None

    def _json(self, schema):
        body = json_object()
        try:
            return schema().load(body)
        except ValidationError as exc:
            field, problem = first_error(exc.messages)
            raise ServiceError(_("%(field)s: %(problem)s", field=field, problem=problem), field=field) from None

    def _channel_allowed(self, channel: str):
        token = g.get("channel_token")
        if token is not None and token.channel != channel:
            raise ServiceError(_("This token is for channel %(channel)s.", channel=token.channel),
                               field="channel")

    def _answer(self, result: IntakeResult) -> dict:
        """The answer's body. Built before the commit, while the ticket and its references are still
        loaded in the session; after it they would all be read again."""
        ticket = result.ticket
        ids = {"category": ticket.category_id, "service_type": ticket.service_type_id,
               "priority": ticket.priority_id, "team": ticket.team_id} if ticket is not None else {}
        names = explain.references(db.session, result.reasons, also=ids)  # one query for all the names
        texts = explain.sentences(db.session, result.reasons, names)
        body = {"outcome": result.outcome, "replayed": result.replayed,
                "reasons": [{**r, "text": text} for r, text in zip(result.reasons, texts)]}
        if ticket is not None:
            policy = rules.current(db.session).sla.policy(ticket.sla_policy_id)  # compiled: no query
            body.update({
                "id": ticket.id, "number": ticket.number, "status": ticket.status,
                "status_label": st.label(ticket.status),
                **{kind: names.get(("code", kind, value)) for kind, value in ids.items()},
                "assignee": ticket.assignee.name if ticket.assignee else None,
                "duplicate_of": result.duplicate_of.number if result.duplicate_of is not None else None,
                "needs_review": ticket.needs_review, "warranty_status": ticket.warranty_status,
                "customer": {"id": ticket.customer.id, "name": ticket.customer.name,
                             "verified": ticket.customer.verified} if ticket.customer else None,
                "asset": {"id": ticket.asset.id, "serial_number": ticket.asset.serial_number}
                if ticket.asset else None,
                "sla": {"policy": policy.name if policy is not None else None,
                        "first_response_due_at": iso_utc(ticket.first_response_due_at),
                        "arrival_due_at": iso_utc(ticket.arrival_due_at),
                        "resolution_due_at": iso_utc(ticket.resolution_due_at),
                        "escalation_level": ticket.escalation_level},
            })
        return body

    def _run(self, build, limit_kb=None):
        """Size check, parse, intake, commit — or a 4xx with nothing half-created."""
        too_large = self._too_large(limit_kb or current_app.config["INTAKE_MAX_JSON_KB"])
        if too_large is not None:
            return too_large
        try:
            result = build()
            body = self._answer(result)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            return self.response(exc.status_code, **exc.to_dict())
        response = self.response(201 if result.created else 200, **body)
        if result.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    def _key(self, fallback):
        return request.headers.get("Idempotency-Key") or fallback

    # --- endpoints ---

    @expose("/", methods=["POST"])
    @token_or_jwt
    def create(self):
        """Create a ticket from any channel.
        ---
        post:
          summary: Turn one customer report into a ticket (or merge it into the open one it repeats)
          parameters:
          - in: header
            name: Idempotency-Key
            required: false
            schema: {type: string}
            description: The same key again answers the first delivery's ticket (default `external_id`)
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/IntakeReport'
        """
        def build():
            data = self._json(IntakeSchema)
            self._channel_allowed(data["channel"])
            customer = data.get("customer") or {}
            return intake(db.session, IntakeRequest(
                channel=data["channel"], subject=data.get("subject"), description=data.get("description") or "",
                customer_name=customer.get("name"), phone=customer.get("phone"), email=customer.get("email"),
                wechat_openid=customer.get("wechat_openid"), address=customer.get("address"),
                serial_number=data.get("serial_number"), message_key=self._key(data.get("external_id")),
                attachments=[Attachment(a["filename"], a["content_base64"], a.get("content_type"))
                             for a in data.get("attachments") or []],
            ), now=utcnow(), actor=current_user())

        return self._run(build, current_app.config["INTAKE_MAX_BODY_KB"])

    @expose("/email", methods=["POST"])
    @token_or_jwt
    def email(self):
        """Deliver one raw e-mail.
        ---
        post:
          summary: A raw RFC 822 message becomes a ticket, a reply on a ticket, or is ignored (auto-reply, bounce)
          requestBody:
            required: true
            content:
              message/rfc822:
                schema: {type: string, format: binary}
        """
        def build():
            self._channel_allowed("email")
            raw = request.get_data()
            if not raw.strip():
                raise ServiceError(_("The body must be a raw RFC 822 message."), field="body")
            return email_channel.deliver(db.session, raw, now=utcnow(), fallback_key=self._key(None))

        return self._run(build, current_app.config["INTAKE_MAX_BODY_KB"])

    @expose("/iot", methods=["POST"])
    @token_or_jwt
    def iot(self):
        """A connected device's alarm or recovery.
        ---
        post:
          summary: Device alarm; repeats of an open alarm are counted on its ticket, a recovery is noted on it
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/IotAlarm'
        """
        def build():
            self._channel_allowed("iot")
            data = self._json(IotSchema)
            return intake(db.session, IntakeRequest(
                channel="iot", serial_number=data["serial_number"], fault_code=data["fault_code"],
                severity=data["severity"], occurred_at=data.get("occurred_at"), recovered=data["recovered"],
                description=data.get("message") or "", message_key=self._key(data.get("alarm_id")),
            ), now=utcnow(), actor=current_user())

        return self._run(build)

    @expose("/call", methods=["POST"])
    @token_or_jwt
    def call(self):
        """A call record from the telephony system (CTI).
        ---
        post:
          summary: Caller number, call id and optional transcript become a phone ticket
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CallRecord'
        """
        def build():
            self._channel_allowed("phone")
            data = self._json(CallSchema)
            transcript = data.get("transcript") or ""
            return intake(db.session, IntakeRequest(
                channel="phone", phone=data["caller"], customer_name=data.get("customer_name"),
                description=transcript, subject=None if transcript else _("Call from %(number)s",
                                                                          number=data["caller"]),
                serial_number=data.get("serial_number"), message_key=self._key(data["call_id"]),
            ), now=utcnow(), actor=current_user())

        return self._run(build)

    @expose("/caller", methods=["GET"])
    @token_or_jwt
    def caller(self):
        """Who is calling: for the CTI screen pop and the clerk's phone registration.
        ---
        get:
          summary: Customer, devices (with warranty) and open tickets of a phone number
          parameters:
          - in: query
            name: phone
            required: true
            schema: {type: string}
        """
        phone = request.args.get("phone", "")
        card = recognise.caller_card(db.session, phone, now=utcnow())
        db.session.commit()
        if not card["valid"]:
            return self.response(400, message=_("%(value)s is not a phone number.", value=phone), field="phone")
        return self.response(200, **card)

