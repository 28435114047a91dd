"""Who is told what, over which channel, and when: notification rows written in the same transaction as
the ticket event that caused them (timeline.record calls on_event; the SLA job writes its rows in bulk).

- Customers get one message per event, over their preferred channel if it can reach them (configured,
  address known, not opted out), else the next that can; in their language. Non-urgent customer
  messages written in the quiet hours wait until the morning.
- Staff always get the in-app message (the bell), plus e-mail and SMS as they chose.
- Integrators' webhooks and group robots get the events they subscribed to (optionally one team's).
When nobody can be reached the row is written as skipped with the reason, so the outbox shows it.
"""
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import (
    Notification, NotificationTemplate, NotifyEndpoint, NotifySettings, StaffNotifyPreference, Ticket, User,
)
from app.models.notify import PENDING, SENT, SKIPPED
from app.services import settings
from app.services.counting import count_up_to
from app.services.notify_templates import CUSTOMER, audience
from app.timeutil import from_local, to_local

CUSTOMER_ORDER = ("wechat", "sms", "email")  # after the customer's own choice
URGENT_PRIORITIES = frozenset({"urgent"})


# ---------------------------------------------------------------- configuration (compiled with the rules)

@dataclass(frozen=True)
class Endpoint:
    id: int
    kind: str
    events: frozenset
    team_id: int | None
    language: str


@dataclass(frozen=True)
class NotifyConfig:
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(8, 0)
    max_attempts: int = 8
    retry_minutes: int = 1
    endpoints: tuple = ()
    templates: dict = field(default_factory=dict)  # (event, channel, language) -> (subject, body, wechat id)

    def subscribed(self, event: str, team_id) -> list[Endpoint]:
        return [e for e in self.endpoints if event in e.events and (e.team_id is None or e.team_id == team_id)]


def compile_config(session: Session) -> NotifyConfig:
    row = session.get(NotifySettings, 1)
    endpoints = tuple(
        Endpoint(e.id, e.kind, frozenset(x.strip() for x in e.events.split(",") if x.strip()), e.team_id, e.language)
        for e in session.scalars(select(NotifyEndpoint).where(NotifyEndpoint.active.is_(True)).order_by(NotifyEndpoint.id)))
    templates = {(t.event, t.channel, t.language): (t.subject, t.body, t.wechat_template_id)
                 for t in session.scalars(select(NotificationTemplate))}
    if row is None:
        return NotifyConfig(endpoints=endpoints, templates=templates)
    return NotifyConfig(row.quiet_start, row.quiet_end, row.max_attempts, row.retry_minutes, endpoints, templates)


def current_config(session: Session) -> NotifyConfig:
    from app.services import rules

    return rules.current(session).notify


def configured_channels() -> frozenset:
    """The outside channels this installation can send on (SMTP, SMS gateway, WeChat account set up)."""
    from app.services.senders import Transport

    return Transport.current().channels


# ---------------------------------------------------------------- quiet hours

def held_until(now: datetime, cfg: NotifyConfig, tz_name: str) -> datetime | None:
    """The end of the quiet hours (naive UTC) when `now` falls inside them, else None."""
    start, end = cfg.quiet_start, cfg.quiet_end
    if start is None or end is None or start == end:
        return None
    local = to_local(now, tz_name)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return from_local(datetime.combine(day, end), tz_name)


# ---------------------------------------------------------------- recipients

def customer_route(ticket: Ticket, configured: frozenset) -> tuple[str | None, str | None, str]:
    """(channel, address, reason when none) for the ticket's customer."""
    customer = ticket.customer
    preferred = customer.preferred_channel if customer is not None else "sms"
    preferred = "sms" if preferred == "phone" else preferred  # a message to a phone is an SMS
    order = list(dict.fromkeys((preferred, *CUSTOMER_ORDER)))
    addresses = {
        "sms": (customer.phone if customer else None) or ticket.contact_phone,
        "email": (customer.email if customer else None) or ticket.contact_email,
        "wechat": customer.wechat_openid if customer else None,
    }
    opted_out = {c for c in ("sms", "email", "wechat") if customer is not None and getattr(customer, f"{c}_opt_out")}
    for channel in order:
        if channel in configured and channel not in opted_out and addresses.get(channel):
            return channel, addresses[channel], ""
    if not configured:
        return None, None, "no_channel_configured"
    if any(addresses.get(c) and c in configured for c in order):
        return None, None, "opted_out"
    return None, None, "no_address"


@dataclass(frozen=True)
class StaffContact:
    user_id: int
    email: str | None
    wants_email: bool
    wants_sms: bool
    phone: str | None
    language: str


def _contacts_query():
    return (select(User.id, User.email, StaffNotifyPreference.email, StaffNotifyPreference.sms,
                   StaffNotifyPreference.phone, StaffNotifyPreference.language)
            .outerjoin(StaffNotifyPreference, StaffNotifyPreference.user_id == User.id)
            .where(User.active.is_(True)))


def _contacts(rows) -> dict[int, StaffContact]:
    # Without a saved choice: e-mail on (when the login has an address), SMS off, Chinese.
    return {uid: StaffContact(uid, email, True if wants_email is None else wants_email, bool(wants_sms), phone,
                              language or "zh")
            for uid, email, wants_email, wants_sms, phone, language in rows}


def staff_contacts(session: Session, user_ids) -> dict[int, StaffContact]:
    ids = [u for u in set(user_ids) if u]
    return _contacts(session.execute(_contacts_query().where(User.id.in_(ids)))) if ids else {}


def engineer_contact(session: Session, engineer_id: int) -> StaffContact | None:
    from app.models import Engineer

    found = _contacts(session.execute(_contacts_query().join(Engineer, Engineer.user_id == User.id)
                                      .where(Engineer.id == engineer_id)))
    return next(iter(found.values()), None)


def staff_rows(contact: StaffContact, *, event: str, ticket_id, key: str, data: dict, now: datetime,
               configured: frozenset) -> list[dict]:
    """One staff member's messages: the bell always, e-mail and SMS as they chose."""
    rows = [_row(key, event, "inapp", contact.language, ticket_id, data, now, user_id=contact.user_id,
                 state=SENT, sent_at=now)]
    if contact.wants_email and contact.email and "email" in configured:
        rows.append(_row(key, event, "email", contact.language, ticket_id, data, now, user_id=contact.user_id,
                         address=contact.email))
    if contact.wants_sms and contact.phone and "sms" in configured:
        rows.append(_row(key, event, "sms", contact.language, ticket_id, data, now, user_id=contact.user_id,
                         address=contact.phone))
    return rows


def hook_rows(cfg: NotifyConfig, *, event: str, ticket_id, team_id, key: str, data: dict,
              now: datetime) -> list[dict]:
    return [_row(f"{key}:e{e.id}", event, "webhook" if e.kind == "webhook" else "robot", e.language, ticket_id,
                 data, now, endpoint_id=e.id) for e in cfg.subscribed(event, team_id)]


def _row(key, event, channel, language, ticket_id, data, now, *, state=PENDING, sent_at=None, next_at=None,
         error=None, **recipient) -> dict:
    suffix = f":u{recipient['user_id']}:{channel}" if recipient.get("user_id") else f":{channel}"
    return {"key": (key + suffix)[:200], "event": event, "channel": channel, "language": language,
            "ticket_id": ticket_id, "data": data, "state": state, "attempts": 0,
            "next_attempt_at": next_at or now, "sent_at": sent_at, "last_error": error, "created_at": now,
            "user_id": None, "customer_id": None, "endpoint_id": None, "address": None, **recipient}


# ---------------------------------------------------------------- the events

def on_event(session: Session, ticket: Ticket, kind: str, data: dict, now: datetime) -> None:
    """The notifications a timeline event causes, added to the session beside it."""
    data = data or {}
    if kind == "created":
        _emit(session, ticket, "ticket_received", {}, now)
    elif kind == "assigned" and data.get("engineer_id"):
        _emit(session, ticket, "ticket_assigned", {}, now)
        _emit(session, ticket, "new_assignment", {}, now, engineer_id=data["engineer_id"])
    elif kind == "departed":
        _emit(session, ticket, "engineer_on_way", {}, now)
    elif kind == "survey_sent":
        _emit(session, ticket, "satisfaction_survey", {}, now)
    elif kind == "claimed":  # the engineer took it from the pool: only the customer needs telling
        _emit(session, ticket, "ticket_assigned", {}, now)
    elif kind == "status":
        to = data.get("to")
        change = {"kind": "status", "from": data.get("from"), "to": to}
        _emit(session, ticket, "status_changed", change, now)
        if to == "waiting_parts":
            _emit(session, ticket, "waiting_parts", {}, now)
        elif to == "resolved":
            _emit(session, ticket, "ticket_resolved", {}, now)


def tell_staff(session: Session, ticket: Ticket, event: str, data: dict, now: datetime, user_ids) -> None:
    """A staff event for chosen logins (a team lead, the managers), plus subscribed webhooks and robots."""
    _emit(session, ticket, event, data, now, user_ids=user_ids)


def role_member_ids(session: Session, role_id) -> list[int]:
    """The active logins that have this role (by id, or a subquery giving it)."""
    from flask_appbuilder.security.sqla.models import assoc_user_role

    return list(session.scalars(
        select(User.id).join(assoc_user_role, assoc_user_role.c.user_id == User.id)
        .where(assoc_user_role.c.role_id == role_id, User.active.is_(True)).order_by(User.id)))


def role_user_ids(session: Session, role_name: str) -> list[int]:
    """The active logins that have the role of this name."""
    from flask_appbuilder.security.sqla.models import Role

    return role_member_ids(session, select(Role.id).where(Role.name == role_name).scalar_subquery())


def team_lead_or_managers(session: Session, ticket: Ticket) -> tuple[list[int], str]:
    """Who answers for the ticket's team: its lead, else every active manager. Also their name(s)."""
    from app.models import Team
    from app.services.roles import MANAGER
    from app.services.timeline import user_name

    team = session.get(Team, _team_id(ticket)) if _team_id(ticket) else None
    if team is not None and team.lead_user is not None and team.lead_user.active:
        return [team.lead_user.id], user_name(team.lead_user)
    return role_user_ids(session, MANAGER), ""


def _emit(session: Session, ticket: Ticket, event: str, data: dict, now: datetime, engineer_id=None,
          user_ids=()) -> None:
    cfg = current_config(session)
    # One event can happen twice in a transaction (back to the pool and dispatched again): the key is
    # unique per message, and stays with it through every retry and re-send.
    key = f"{event}:{ticket.number}:{uuid.uuid4().hex[:16]}"
    rows = hook_rows(cfg, event=event, ticket_id=None, team_id=_team_id(ticket), key=key, data=data, now=now)
    who = audience(event)
    if who == CUSTOMER:
        rows.append(_customer_row(session, ticket, event, key, data, now, cfg))
    elif engineer_id is not None:
        contact = engineer_contact(session, engineer_id)
        if contact is not None:
            rows += staff_rows(contact, event=event, ticket_id=None, key=key, data=data, now=now,
                               configured=configured_channels())
    elif user_ids:
        for contact in staff_contacts(session, user_ids).values():
            rows += staff_rows(contact, event=event, ticket_id=None, key=key, data=data, now=now,
                               configured=configured_channels())
    for row in rows:
        row.pop("ticket_id")
        session.add(Notification(ticket=ticket, **row))


def _team_id(ticket: Ticket):
    team = ticket.__dict__.get("team")  # set through the relationship in this flush, not yet in team_id
    return team.id if team is not None else ticket.team_id


def _customer_row(session: Session, ticket: Ticket, event: str, key: str, data: dict, now: datetime,
                  cfg: NotifyConfig) -> dict:
    customer = ticket.customer
    language = customer.preferred_language if customer is not None else "zh"
    channel, address, reason = customer_route(ticket, configured_channels())
    if channel is None:
        return _row(key, event, "none", language, None, data, now, state=SKIPPED, error=reason,
                    customer_id=customer.id if customer else None)
    next_at = None
    if not _urgent(session, ticket):
        next_at = held_until(now, cfg, settings.current().timezone)
    return _row(key, event, channel, language, None, data, now, next_at=next_at, address=address,
                customer_id=customer.id if customer else None)


def _urgent(session: Session, ticket: Ticket) -> bool:
    from app.services import rules

    priority_id = ticket.priority.id if ticket.__dict__.get("priority") is not None else ticket.priority_id
    return rules.current(session).priority_code(priority_id) in URGENT_PRIORITIES


def skip_reason(code: str | None) -> str:
    texts = {
        "no_channel_configured": _("No message channel (SMTP, SMS gateway, WeChat) is configured"),
        "opted_out": _("The customer opted out of every channel that could reach them"),
        "no_address": _("The customer has no phone, e-mail or WeChat on record"),
    }
    return texts.get(code or "", code or "")


# ---------------------------------------------------------------- the bell and the admins' outbox

def recipient_name(note: Notification) -> str:
    if note.endpoint is not None:
        return note.endpoint.name
    if note.user is not None:
        from app.services.timeline import user_name

        return user_name(note.user)
    return note.customer.name if note.customer is not None else ""


def customer_messages(session: Session, ticket_id: int) -> list[dict]:
    """What the customer was told about this ticket, and whether it reached them (for the ticket page)."""
    from app.services.notify_templates import CHANNEL_LABELS, STATE_LABELS, event_label

    rows = session.execute(
        select(Notification.event, Notification.channel, Notification.address, Notification.state,
               Notification.created_at, Notification.sent_at, Notification.next_attempt_at, Notification.last_error)
        .where(Notification.ticket_id == ticket_id, Notification.customer_id.is_not(None)
               | (Notification.channel == "none"))
        .order_by(Notification.id)).all()
    return [{"event": event_label(event), "channel": str(CHANNEL_LABELS.get(channel, channel)), "address": address,
             "state": state, "state_label": str(STATE_LABELS.get(state, state)), "created_at": created_at,
             "sent_at": sent_at, "next_attempt_at": next_at if state == PENDING else None,
             "problem": skip_reason(error) if error else ""}
            for event, channel, address, state, created_at, sent_at, next_at, error in rows]


def unread_count(session: Session, user_id: int, *, at_most: int | None = None) -> int:
    """The user's unread in-app messages; with `at_most`, counted no further than one past it (the bell on every
    page: a manager with tens of thousands unread — escalations pile up — made every page count them)."""
    unread = select(Notification.id).where(
        Notification.user_id == user_id, Notification.channel == "inapp", Notification.read_at.is_(None))
    if at_most is not None:
        return count_up_to(session, unread, at_most)
    return session.scalar(select(func.count()).select_from(unread.subquery())) or 0


def mark_read(session: Session, user_id: int, *, now: datetime, ids=None) -> int:
    """Mark the user's in-app messages read (all, or those in `ids`); never anyone else's."""
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.channel == "inapp",
                                      Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    return session.execute(stmt.values(read_at=now)).rowcount


def resend(session: Session, ids, *, now: datetime) -> int:
    """An admin's "send again": dead (or sent) outside messages go back in the queue with fresh attempts."""
    return session.execute(
        update(Notification).where(Notification.id.in_(list(ids)), Notification.channel.notin_(("inapp", "none")))
        .values(state=PENDING, attempts=0, next_attempt_at=now, last_error=None)).rowcount
