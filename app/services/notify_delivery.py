"""The delivery job: send the due outbox rows, record every attempt, retry with exponential back-off, and
give up (state dead, visible to admins, re-sendable) after the configured number of attempts.

A batch is claimed in one short transaction — `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)` on
PostgreSQL, so a second scheduler takes other rows — which counts the attempt and pushes the row's next
attempt a lease ahead. Each message is then sent outside any transaction and its outcome committed on
its own. A process that dies between sending and recording leaves the row pending; it comes round again
when the lease ends. Delivery is therefore at least once, never lost; the repeat carries the same
idempotency key (Message-ID, X-Idempotency-Key) for the receiver to drop.
"""
import logging
import time
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, selectinload

from app.models import Engineer, Notification, NotificationAttempt, Ticket
from app.models.notify import DEAD, PENDING, SENT
from app.services import notify, notify_templates, settings
from app.services import status as st
from app.services.senders import Outgoing, SendError, Transport, send
from app.timeutil import as_utc, to_local

log = logging.getLogger(__name__)

BATCH = 50
LEASE = timedelta(minutes=10)
MAX_DELAY = timedelta(hours=6)


def backoff(attempts: int, retry_minutes: int) -> timedelta:
    """1, 2, 4, 8 … times the first delay after the 1st, 2nd, 3rd … failed attempt, at most 6 hours."""
    return min(timedelta(minutes=retry_minutes) * (2 ** max(0, attempts - 1)), MAX_DELAY)


def _claim(session: Session, now: datetime, batch: int) -> list[tuple[int, int]]:
    due = (select(Notification.id).where(Notification.state == PENDING, Notification.next_attempt_at <= now)
           .order_by(Notification.next_attempt_at, Notification.id).limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = session.execute(
        update(Notification).where(Notification.id.in_(due))
        .values(attempts=Notification.attempts + 1, next_attempt_at=now + LEASE)
        .returning(Notification.id, Notification.attempts)).all()
    session.commit()
    return sorted(rows)


def deliver_due(session: Session, *, now: datetime, batch: int = BATCH, transport: Transport | None = None) -> int:
    """Send every message due at `now`; returns how many were delivered."""
    now = as_utc(now)
    transport = transport or Transport.current()
    delivered = 0
    while True:
        claimed = _claim(session, now, batch)
        # Composed up front from one query: the per-message commits below must not reload the tickets.
        composed = _compose_batch(session, [nid for nid, _ in claimed], transport)
        cfg = notify.current_config(session)
        for notification_id, attempts in claimed:
            if notification_id in composed:  # else its ticket was deleted since the claim, and the row with it
                delivered += _deliver(session, notification_id, attempts, composed[notification_id], now, cfg,
                                      transport)
        if len(claimed) < batch:
            return delivered


def _compose_batch(session: Session, ids: list[int], transport: Transport) -> dict:
    """id -> the message ready to send, or the exception that stopped composing it."""
    if not ids:
        return {}
    notes = session.scalars(select(Notification).where(Notification.id.in_(ids)).options(
        selectinload(Notification.endpoint),
        selectinload(Notification.ticket).selectinload(Ticket.assignee),
        selectinload(Notification.ticket).selectinload(Ticket.customer),
        selectinload(Notification.ticket).selectinload(Ticket.priority),
        selectinload(Notification.ticket).selectinload(Ticket.category),
        selectinload(Notification.ticket).selectinload(Ticket.service_type),
        selectinload(Notification.ticket).selectinload(Ticket.team))).all()
    composed = {}
    for note in notes:
        try:
            composed[note.id] = compose(session, note, transport)
        except Exception as exc:  # a broken template: recorded and retried like a refused message
            log.exception("notification %s", note.id)
            composed[note.id] = exc
    session.commit()  # ends the read; nothing is held while sending
    return composed


def _deliver(session: Session, notification_id: int, attempts: int, message, now: datetime, cfg,
             transport: Transport) -> bool:
    started = time.monotonic()
    error = None
    if isinstance(message, Exception):  # could not be composed; logged where that was tried
        error = f"{message.__class__.__name__}: {message}"
    else:
        try:
            send(transport, message)
        except SendError as exc:
            error = str(exc)
        except Exception as exc:  # an unexpected answer: recorded and retried, never lost
            log.exception("notification %s", notification_id)
            error = f"{exc.__class__.__name__}: {exc}"
    elapsed = int((time.monotonic() - started) * 1000)
    error = error and error[:2000]
    session.execute(insert(NotificationAttempt).values(notification_id=notification_id, at=now, ok=error is None,
                                                       error=error, duration_ms=elapsed))
    if error is None:
        values = {"state": SENT, "sent_at": now, "last_error": None}
    elif attempts >= cfg.max_attempts:
        values = {"state": DEAD, "last_error": error}
    else:
        values = {"last_error": error, "next_attempt_at": now + backoff(attempts, cfg.retry_minutes)}
    # Only while the row is still ours: an admin may have re-queued it meanwhile.
    session.execute(update(Notification).where(Notification.id == notification_id,
                                               Notification.attempts == attempts).values(**values))
    session.commit()
    return error is None


# ---------------------------------------------------------------- composing

def _local(value: datetime | None, tz_name: str) -> str:
    return to_local(value, tz_name).strftime("%Y-%m-%d %H:%M") if value else ""


def values_for(ticket: Ticket, note_data: dict, transport: Transport) -> dict:
    """The placeholders' values for a ticket, in the current locale."""
    from app.services import inventory_text, satisfaction_text, sla_text

    tz = settings.current().timezone
    customer = ticket.customer
    engineer: Engineer | None = ticket.assignee
    kind = (note_data or {}).get("kind")
    if kind == "status":
        detail = _("Status: %(old)s → %(new)s", old=st.label(note_data.get("from") or ""),
                   new=st.label(note_data.get("to") or ""))
    elif kind:
        detail = (sla_text.describe(kind, note_data) or satisfaction_text.describe(kind, note_data)
                  or inventory_text.describe(kind, note_data) or "")
        if kind == "low_score" and note_data.get("reason"):
            detail = f"{detail}: {note_data['reason']}"
    else:
        detail = ""
    deadline = ticket.arrival_due_at if ticket.arrived_at is None and ticket.arrival_due_at else None
    return {
        "number": ticket.number, "subject": ticket.subject, "status": st.label(ticket.status),
        "priority": ticket.priority.name if ticket.priority else "",
        "category": ticket.category.name if ticket.category else "",
        "customer": ticket.contact_name or (customer.name if customer else ""),
        "customer_phone": ticket.contact_phone or (customer.phone if customer else ""),
        "address": ticket.contact_address or (customer.address if customer else ""),
        "engineer": engineer.name if engineer else "", "engineer_phone": engineer.phone if engineer else "",
        "team": ticket.team.name if ticket.team else "",
        "deadline": _local(deadline or ticket.sla_due_at or ticket.resolution_due_at, tz),
        "tracking_link": transport.tracking_link(ticket),
        "ticket_link": f"{transport.public_url.rstrip('/')}/ticketview/number/{ticket.number}",
        "detail": detail,
    }


def webhook_payload(note: Notification, values: dict) -> dict:
    ticket = note.ticket
    return {
        "id": note.key, "event": note.event, "occurred_at": note.created_at.isoformat() + "Z",
        "ticket": {
            "id": ticket.id, "number": ticket.number, "status": ticket.status,
            "priority": ticket.priority.code if ticket.priority else None,
            "category": ticket.category.code if ticket.category else None,
            "service_type": ticket.service_type.code if ticket.service_type else None,
            "subject": ticket.subject, "channel": ticket.channel,
            "customer": {"name": values["customer"], "phone": values["customer_phone"] or None},
            "engineer": values["engineer"] or None, "team": ticket.team.code if ticket.team else None,
            "escalation_level": ticket.escalation_level,
            "sla_due_at": ticket.sla_due_at.isoformat() + "Z" if ticket.sla_due_at else None,
            "created_at": ticket.created_at.isoformat() + "Z",
        },
        "data": {k: v for k, v in (note.data or {}).items() if k != "recipients"},
    }


def compose(session: Session, note: Notification, transport: Transport) -> Outgoing:
    with force_locale(note.language):
        values = values_for(note.ticket, note.data or {}, transport)
        out = Outgoing(key=note.key, channel=note.channel, address=note.address, event=note.event,
                       link=values["tracking_link"])
        endpoint = note.endpoint
        if endpoint is not None:
            out.endpoint_kind, out.endpoint_url, out.endpoint_secret = endpoint.kind, endpoint.url, endpoint.secret
        if note.channel == "webhook":
            out.payload = webhook_payload(note, values)
            return out
        templates = notify.current_config(session).templates
        subject, body, wechat_template_id = notify_templates.find(templates, note.event, note.channel, note.language)
        rendered = notify_templates.render(subject, body, values)
        out.subject, out.text, out.html = rendered.subject, rendered.text, rendered.html
        if note.channel == "wechat":
            # The common 服务进度提醒 layout: first line, ticket number, status, time, remark.
            out.wechat_template_id = wechat_template_id
            out.payload = {"first": {"value": rendered.subject}, "keyword1": {"value": values["number"]},
                           "keyword2": {"value": values["status"]},
                           "keyword3": {"value": _local(note.created_at, settings.current().timezone)},
                           "remark": {"value": rendered.text}}
        return out


def inbox_message(note: Notification) -> tuple[int, str, str]:
    """(id, title, text) of an in-app message in the reader's language (the console's current locale)."""
    from sqlalchemy.orm import object_session

    from app.models.mixins import current_language

    session = object_session(note)
    try:
        subject, body, _id = notify_templates.find(notify.current_config(session).templates, note.event, "inapp",
                                                    current_language())
        values = values_for(note.ticket, note.data or {}, Transport.current()) if note.ticket else {}
        rendered = notify_templates.render(subject, body, values)
        return note.id, rendered.subject, rendered.text
    except Exception:  # a template broken after the message was written: still say what it was about
        log.exception("in-app message %s", note.id)
        return note.id, notify_templates.event_label(note.event), ""
