"""Creating, editing, moving and assigning tickets. Every change writes a timeline event."""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.models import Engineer, Ticket
from app.services import inventory, numbering, recognise, satisfaction, settings, similar, sla, timeline
from app.services import status as st
from app.services.errors import ConcurrentEdit, IllegalTransition, ServiceError
from app.services.vocabulary import CHANNELS
from app.timeutil import as_utc

# Fields a clerk may change through an edit; status and assignment have their own functions.
EDITABLE_FIELDS = (
    "subject", "description", "customer", "contact_name", "contact_phone", "contact_email",
    "contact_address", "asset", "product", "category", "service_type", "priority", "team", "duplicate_of",
)
# Deadlines are not edited: they follow from the SLA policy (app.services.sla) and move with its clock.


def create_ticket(session: Session, *, channel: str, subject: str, now: datetime, actor=None,
                  description: str | None = None, external_ref: str | None = None,
                  **fields) -> tuple[Ticket, bool]:
    """Create a ticket; returns (ticket, created). A retry with the same channel + external_ref
    returns the ticket the first call made instead of a duplicate."""
    if external_ref:
        existing = session.scalar(
            select(Ticket).where(Ticket.channel == channel, Ticket.external_ref == external_ref)
        )
        if existing is not None:
            return existing, False
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not ticket fields: {sorted(unknown)}")
    ticket = Ticket(channel=channel, subject=subject, description=description, external_ref=external_ref, **fields)
    register_new(session, ticket, actor=actor, now=now)
    session.flush()
    return ticket, True


def register_new(session: Session, ticket: Ticket, *, now: datetime, actor=None) -> Ticket:
    """Give a new ticket (built by create_ticket or filled in by the console form) its number,
    initial status, contact snapshot and first timeline event."""
    now = as_utc(now)
    if ticket.channel not in CHANNELS:
        raise ServiceError(_l("Unknown channel: %(channel)s", channel=ticket.channel), field="channel")
    ticket.subject = (ticket.subject or "").strip()[:200]
    if not ticket.subject:
        raise ServiceError(_l("Subject is required."), field="subject")
    cfg = settings.current()
    with session.no_autoflush:  # the half-built ticket must not be flushed before it has a number
        ticket.number = numbering.next_number(session, now, prefix=cfg.ticket_number_prefix,
                                              tz_name=cfg.timezone)
    ticket.status = st.NEW
    ticket.created_at = ticket.updated_at = now
    customer = ticket.customer
    if customer is not None:
        ticket.contact_name = ticket.contact_name or customer.name
        ticket.contact_phone = ticket.contact_phone or customer.phone
        ticket.contact_email = ticket.contact_email or customer.email
        ticket.contact_address = ticket.contact_address or customer.address
    if ticket.asset is not None and ticket.product is None:
        ticket.product = ticket.asset.product
    if ticket.warranty_status is None:  # intake decided it already; every other way in is decided here
        ticket.warranty_status = recognise.warranty(ticket.asset, now)[0]
    session.add(ticket)
    timeline.record(session, ticket, "created", actor=actor, now=now, data={"channel": ticket.channel})
    return ticket


def _plain(value):
    """A JSON-safe picture of a field value for the timeline."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def check_version(ticket: Ticket, expected_version) -> None:
    """Refuse to save over a change someone else saved since this user loaded the ticket."""
    if expected_version in (None, ""):
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise ServiceError(_l("Invalid version."), field="version") from None
    if expected != ticket.version:
        raise ConcurrentEdit(
            _l("Ticket %(number)s was changed by someone else while you were editing it. "
               "Reload the page to see the latest version, then make your change again.",
               number=ticket.number)
        )


def edit_ticket(session: Session, ticket: Ticket, changes: dict | None = None, *, now: datetime,
                actor=None, expected_version=None) -> dict:
    """Apply `changes` (or changes already set on the object by a form) and record what changed.

    Returns {field: [old, new]}; an edit that changes nothing writes no event.
    """
    now = as_utc(now)
    check_version(ticket, expected_version)
    # Load a ticket expired by a commit before changing it: a change made on an unloaded attribute has no old
    # value, and loading the rest afterwards would hide it from the comparison below.
    if inspect(ticket).expired_attributes:
        ticket.subject  # touching one expired attribute loads them all
    for name, value in (changes or {}).items():
        if name not in EDITABLE_FIELDS:
            raise ServiceError(_l("Field %(field)s cannot be edited here.", field=name), field=name)
        setattr(ticket, name, value)
    if not (ticket.subject or "").strip():
        raise ServiceError(_l("Subject is required."), field="subject")
    state = inspect(ticket)
    diff = {}
    for name in EDITABLE_FIELDS:
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old != new:
            diff[name] = [_plain(old), _plain(new)]
    if diff:
        ticket.updated_at = now
        if "asset" in diff:  # another device: its warranty, judged on the day the problem was reported
            warranty = recognise.warranty(ticket.asset, ticket.created_at or now)[0]
            if warranty != ticket.warranty_status:
                diff["warranty_status"] = [ticket.warranty_status, warranty]
                ticket.warranty_status = warranty
        timeline.record(session, ticket, "edited", actor=actor, now=now, data={"changes": diff})
        similar.on_edit(session, ticket, set(diff))
        if ticket.needs_review and {"category", "priority"} & set(diff):
            # A person set what the rules could not decide: that is the review, and dispatch may go on.
            ticket.needs_review = False
            timeline.record(session, ticket, "reviewed", actor=actor, now=now)
            from app.services import assign  # noqa: PLC0415  (assign builds on this module)

            assign.auto_dispatch(session, ticket, now=now)
    return diff


def transition(session: Session, ticket: Ticket, to_status: str, *, now: datetime, actor=None,
               reason: str | None = None, expected_version=None) -> None:
    now = as_utc(now)
    check_version(ticket, expected_version)
    if to_status not in st.STATUSES:
        raise ServiceError(_l("Unknown status: %(status)s", status=to_status), field="status")
    old = ticket.status
    if not st.can_transition(old, to_status):
        raise IllegalTransition(
            _l("A ticket that is %(old)s cannot become %(new)s.", old=st.LABELS[old], new=st.LABELS[to_status]),
            field="status",
        )
    reason = (reason or "").strip() or None
    if to_status in st.NEEDS_REASON and not reason:
        raise ServiceError(_l("Please give a reason for this change."), field="reason")
    if to_status in st.NEEDS_ASSIGNEE and ticket.assignee is None:
        raise IllegalTransition(_l("Assign an engineer first."), field="assignee")

    data = {"from": old, "to": to_status}
    ticket.status = to_status
    ticket.updated_at = now
    if to_status == st.NEW and ticket.assignee is not None:
        data["previous_assignee"] = ticket.assignee.name  # back to the pool: say whose it was
        ticket.assignee = None
    if to_status in (st.ACCEPTED, st.IN_PROGRESS, st.RESOLVED) and ticket.responded_at is None:
        ticket.responded_at = now
    if (to_status == st.IN_PROGRESS and ticket.arrived_at is None and ticket.service_type is not None
            and ticket.service_type.on_site):
        ticket.arrived_at = now  # on-site work starts at the customer's; check-in will record it first
    if to_status == st.RESOLVED:
        ticket.resolved_at = now
    elif to_status == st.CLOSED:
        ticket.closed_at = now
    elif to_status == st.REOPENED:
        ticket.resolved_at = None
        ticket.closed_at = None
    inventory.on_status(session, ticket, old, to_status, now=now, actor=actor)
    satisfaction.on_status(session, ticket, old, to_status, now=now)
    similar.on_status(session, ticket, old, to_status)
    timeline.record(session, ticket, "status", actor=actor, now=now, data=data, reason=reason)


def assign(session: Session, ticket: Ticket, engineer: Engineer | None, *, now: datetime, actor=None,
           reason: str | None = None, expected_version=None) -> None:
    """Put an engineer (and their team) on the ticket, or take the engineer off with None.

    A new engineer must accept again, so an accepted or in-progress ticket goes back to "assigned".
    """
    now = as_utc(now)
    check_version(ticket, expected_version)
    if ticket.status not in st.OPEN_STATUSES:
        raise IllegalTransition(
            _l("A ticket that is %(status)s cannot be assigned.", status=st.LABELS[ticket.status]),
            field="assignee",
        )
    if engineer is not None and not engineer.active:
        raise ServiceError(_l("%(name)s is not an active engineer.", name=engineer.name), field="assignee")
    previous = ticket.assignee
    if engineer is previous:
        return  # nothing changes; an accepted ticket must not fall back to "assigned"
    ticket.assignee = engineer
    if engineer is not None:
        engineer.last_assigned_at = now  # dispatch's round robin: who was given work longest ago
        sla.on_assigned(ticket, now=now)
    if engineer is not None and engineer.team is not None:
        ticket.team = engineer.team
    ticket.updated_at = now
    timeline.record(
        session, ticket, "assigned", actor=actor, now=now, reason=reason,
        data={"engineer": engineer.name if engineer else None, "engineer_id": engineer.id if engineer else None,
              "previous": previous.name if previous else None},
    )
    if engineer is not None and ticket.status in (st.NEW, st.REOPENED, st.ACCEPTED, st.IN_PROGRESS):
        transition(session, ticket, st.ASSIGNED, now=now, actor=actor)
    elif engineer is None and ticket.status in (st.ASSIGNED, st.ACCEPTED):
        transition(session, ticket, st.NEW, now=now, actor=actor)


def add_note(session: Session, ticket: Ticket, text: str, *, now: datetime, actor=None) -> None:
    text = (text or "").strip()
    if not text:
        raise ServiceError(_l("The note is empty."), field="note")
    ticket.updated_at = as_utc(now)
    timeline.record(session, ticket, "note", actor=actor, now=as_utc(now), reason=text)
