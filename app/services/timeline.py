"""Writing and reading the ticket timeline. Each event's text is rendered in the reader's language."""
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.models import Ticket, TicketEvent
from app.services import dispatch_text, field_text, inventory_text, notify, satisfaction_text, sla_text
from app.services import status as st


def record(session: Session, ticket: Ticket, kind: str, *, actor=None, now: datetime,
           data: dict | None = None, reason: str | None = None) -> TicketEvent:
    event = TicketEvent(
        ticket=ticket, kind=kind, actor_user_id=getattr(actor, "id", None),
        created_at=now, data=data or {}, reason=reason,
    )
    session.add(event)
    notify.on_event(session, ticket, kind, event.data, now)
    return event


# Each area's events describe themselves; None means "not mine".
_DESCRIBERS = (dispatch_text.describe, sla_text.describe, satisfaction_text.describe, inventory_text.describe,
               field_text.describe)


def user_name(user) -> str:
    """A login as people say it: family name first (周经理), else the username."""
    full = f"{user.last_name or ''}{user.first_name or ''}".strip()
    return full or user.username


def actor_name(event: TicketEvent) -> str:
    if event.actor is None:
        return _("System")
    return user_name(event.actor)


def _field_label(name: str) -> str:
    from app.labels import TICKET_LABELS

    return str(TICKET_LABELS.get(name, name))


def describe(event: TicketEvent) -> str:
    """One sentence for the timeline, e.g. 「状态：新建 → 已派工」."""
    data = event.data or {}
    kind = event.kind
    if kind == "created":
        return _("Ticket created from channel %(channel)s", channel=_channel(data.get("channel")))
    if kind == "status" and data.get("rule") == "auto_close":
        return _("Closed automatically: the customer did not confirm the resolution within %(days)s days",
                 days=data.get("days"))
    if kind == "status":
        return _("Status: %(old)s → %(new)s", old=st.label(data.get("from", "")), new=st.label(data.get("to", "")))
    if kind == "assigned":
        if data.get("engineer"):
            return _("Assigned to %(engineer)s", engineer=data["engineer"])
        return _("Assignment withdrawn")
    if kind == "edited":
        fields = ", ".join(_field_label(f) for f in data.get("changes", {}))
        return _("Edited: %(fields)s", fields=fields)
    if kind == "note":
        return _("Note")
    for describer in _DESCRIBERS:
        text = describer(kind, data)
        if text:
            return text
    return _describe_intake(kind, data)


def _describe_intake(kind: str, data: dict) -> str:
    if kind == "received":
        return _("Request received from %(channel)s; the customer is to be told ticket number %(number)s",
                 channel=_channel(data.get("channel")), number=data.get("number"))
    if kind == "classified":
        return _("Recognised and classified automatically (see why)")
    if kind == "merged_report":
        if data.get("from_ticket"):
            return _("Ticket %(ticket)s merged into this one", ticket=data["from_ticket"])
        return _("Another report of the same problem (%(channel)s) merged into this ticket",
                 channel=_channel(data.get("channel")))
    if kind == "merged_into":
        return _("Merged into ticket %(ticket)s", ticket=data.get("ticket"))
    if kind == "split":
        return _("A merged report was split out as ticket %(ticket)s", ticket=data.get("ticket"))
    if kind == "split_from":
        return _("Split out of ticket %(ticket)s", ticket=data.get("ticket"))
    if kind == "customer_reply":
        return _("Customer replied by %(channel)s", channel=_channel(data.get("channel")))
    if kind == "alarm_recovered":
        return _("The device reported that alarm %(code)s recovered", code=data.get("fault_code"))
    if kind == "attachment":
        return _("Attachment stored: %(name)s", name=data.get("filename"))
    if kind == "attachment_refused":
        from app.services.explain import describe as explain_reason

        return explain_reason({"code": "attachment_too_large", **data})
    if kind == "reviewed":
        return _("Classification reviewed by a clerk")
    return kind


def _channel(code: str | None) -> str:
    from app.services.vocabulary import CHANNELS

    return str(CHANNELS.get(code, code or ""))
