"""The engineer's day (工程师工作台): today's work in order, accept, depart, check in on site, log the work and
the parts, resolve with how it was fixed. Each step is a status change or a timeline event, so the customer
(the portal, the messages) and the managers (the check-in distance) see it as it happens.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import DispatchSettings, Engineer, ResolutionCode, Ticket
from app.services import inventory, timeline
from app.services import status as st
from app.services import tickets as ticket_service
from app.services.assign import haversine_km
from app.services.errors import IllegalTransition, ServiceError
from app.timeutil import as_utc

FAR_METERS = 1000  # a check-in further than this from the customer's address is flagged
MAX_TEXT = 4000


# ---------------------------------------------------------------- where the engineer is

def _position(value, low: float, high: float, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ServiceError(_l("The location could not be read."), field=field) from None
    if not low <= number <= high:
        raise ServiceError(_l("The location could not be read."), field=field)
    return number


def form_int(value) -> int | None:
    """A whole number typed in a form (an id, a quantity), or None for anything else ("²", "1e9", "-1")."""
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def update_location(session: Session, engineer: Engineer, latitude, longitude, *, now: datetime) -> None:
    """The phone's position: dispatch measures distances from it while it is fresh."""
    engineer.last_latitude = _position(latitude, -90, 90, "latitude")
    engineer.last_longitude = _position(longitude, -180, 180, "longitude")
    engineer.last_located_at = as_utc(now)


def _origin(session: Session, engineer: Engineer, now: datetime) -> tuple[float, float] | None:
    settings = session.get(DispatchSettings, 1)
    fresh = timedelta(hours=settings.location_fresh_hours if settings is not None else 4)
    if engineer.last_located_at is not None and now - engineer.last_located_at <= fresh \
            and engineer.last_latitude is not None:
        return engineer.last_latitude, engineer.last_longitude
    if engineer.base_latitude is not None and engineer.base_longitude is not None:
        return engineer.base_latitude, engineer.base_longitude
    return None


# ---------------------------------------------------------------- today's work

@dataclass
class WorkItem:
    ticket: Ticket
    due_at: datetime | None
    distance_km: float | None
    overdue: bool


def my_work(session: Session, engineer: Engineer, *, now: datetime, order: str = "due") -> list[WorkItem]:
    """The engineer's open tickets, by the next deadline (then distance), or by distance (then deadline)."""
    now = as_utc(now)
    rows = session.scalars(
        select(Ticket).where(Ticket.assignee_id == engineer.id, Ticket.status.in_(sorted(st.OPEN_STATUSES)))
        .options(selectinload(Ticket.customer), selectinload(Ticket.asset), selectinload(Ticket.priority))).all()
    origin = _origin(session, engineer, now)
    items = []
    for ticket in rows:
        due = ticket.sla_due_at or (ticket.arrival_due_at if ticket.arrived_at is None else None) \
            or ticket.resolution_due_at
        site = service_site(ticket)
        distance = None
        if origin is not None and site is not None:
            distance = round(haversine_km(origin[0], origin[1], *site), 1)
        items.append(WorkItem(ticket, due, distance, due is not None and due < now))
    far = float("inf")
    if order == "distance":
        items.sort(key=lambda w: (w.distance_km if w.distance_km is not None else far, w.due_at or datetime.max))
    else:
        items.sort(key=lambda w: (w.due_at or datetime.max, w.distance_km if w.distance_km is not None else far))
    return items


def service_site(ticket: Ticket) -> tuple[float, float] | None:
    """Where the work is: the device's own location when it has one (a shop, a second home), else the
    customer's address."""
    for place in (ticket.asset, ticket.customer):
        if place is not None and place.latitude is not None and place.longitude is not None:
            return place.latitude, place.longitude
    return None


def _own(ticket: Ticket, engineer: Engineer) -> None:
    if ticket.assignee_id != engineer.id:
        raise ServiceError(_l("Ticket %(number)s is not assigned to you.", number=ticket.number), field="ticket")


# ---------------------------------------------------------------- the steps

def accept(session: Session, ticket: Ticket, engineer: Engineer, *, now: datetime, actor=None) -> None:
    _own(ticket, engineer)
    ticket_service.transition(session, ticket, st.ACCEPTED, now=now, actor=actor)
    inventory.wait_if_parts_outstanding(session, ticket, now=now, actor=actor)


def depart(session: Session, ticket: Ticket, engineer: Engineer, *, now: datetime, actor=None,
           latitude=None, longitude=None) -> None:
    """出发: on the way to the customer, who is told so."""
    now = as_utc(now)
    _own(ticket, engineer)
    if ticket.status != st.ACCEPTED:
        raise IllegalTransition(_l("Accept the ticket before setting off."), field="status")
    if ticket.departed_at is not None:
        return  # a second tap: the customer was told once
    if latitude not in (None, "") and longitude not in (None, ""):
        update_location(session, engineer, latitude, longitude, now=now)
    ticket.departed_at = ticket.updated_at = now
    timeline.record(session, ticket, "departed", actor=actor, now=now,
                    data={"engineer": engineer.name, "engineer_phone": engineer.phone})


def check_in(session: Session, ticket: Ticket, engineer: Engineer, *, now: datetime, actor=None, latitude=None,
             longitude=None, accuracy=None, far_meters: int = FAR_METERS) -> None:
    """签到 at the customer's: where the phone is, how far that is from the customer's address (far ones are
    flagged), and the work begins (accepted → in progress; a ticket waiting for parts keeps waiting).

    A later visit's check-in (a second day on site) replaces the place only when it has one, and a far check-in
    stays flagged: the flag is what a manager looks for, and another tap must not wipe it."""
    now = as_utc(now)
    _own(ticket, engineer)
    if ticket.status not in (st.ACCEPTED, st.IN_PROGRESS, st.REOPENED, st.WAITING_PARTS):
        raise IllegalTransition(_l("A ticket that is %(status)s cannot be checked in.",
                                   status=st.label(ticket.status)), field="status")
    data = {"engineer": engineer.name, "located": False}
    if latitude not in (None, "") and longitude not in (None, ""):
        update_location(session, engineer, latitude, longitude, now=now)
        ticket.checkin_latitude, ticket.checkin_longitude = engineer.last_latitude, engineer.last_longitude
        data.update(located=True, latitude=ticket.checkin_latitude, longitude=ticket.checkin_longitude)
        try:
            data["accuracy_m"] = round(float(accuracy)) if accuracy not in (None, "") else None
        except (ValueError, OverflowError):
            data["accuracy_m"] = None
        site = service_site(ticket)
        ticket.checkin_distance_m = None
        if site is not None:
            meters = round(1000 * haversine_km(ticket.checkin_latitude, ticket.checkin_longitude, *site))
            ticket.checkin_distance_m = meters
            data.update(distance_m=meters, far=meters > far_meters, far_meters=far_meters)
            ticket.checkin_far = bool(ticket.checkin_far) or meters > far_meters
    ticket.arrived_at = ticket.arrived_at or now
    ticket.updated_at = now
    timeline.record(session, ticket, "checked_in", actor=actor, now=now, data=data)
    if ticket.status in (st.ACCEPTED, st.REOPENED):
        ticket_service.transition(session, ticket, st.IN_PROGRESS, now=now, actor=actor)
        inventory.wait_if_parts_outstanding(session, ticket, now=now, actor=actor)


def log_work(session: Session, ticket: Ticket, engineer: Engineer, text: str, *, now: datetime, actor=None,
             photos=(), max_kb: int = 10240) -> None:
    """A line in the work log, with photos if any."""
    from app.services.intake import store_attachments

    now = as_utc(now)
    _own(ticket, engineer)
    text = (text or "").strip()[:MAX_TEXT]
    if not text and not photos:
        raise ServiceError(_l("Write what was done, or add a photo."), field="text")
    if text:
        timeline.record(session, ticket, "work_log", actor=actor, now=now, reason=text)
    if photos:
        store_attachments(session, ticket, list(photos), max_kb=max_kb, now=now)
    ticket.updated_at = now


def resolve(session: Session, ticket: Ticket, engineer: Engineer, *, code_id, note: str | None, now: datetime,
            actor=None, used: dict | None = None) -> None:
    """解决: how it was fixed (a resolution code), the parts actually used (the rest go back), resolved."""
    now = as_utc(now)
    _own(ticket, engineer)
    code = session.get(ResolutionCode, form_int(code_id)) if form_int(code_id) is not None else None
    if code is None or not code.active:
        raise ServiceError(_l("Choose how the problem was fixed."), field="resolution_code")
    if not st.can_transition(ticket.status, st.RESOLVED):
        raise IllegalTransition(_l("A ticket that is %(status)s cannot be resolved.",
                                   status=st.label(ticket.status)), field="status")
    ticket.resolution_code = code
    ticket.resolution_note = (note or "").strip()[:MAX_TEXT] or None
    inventory.consume(session, ticket, now=now, actor=actor, used=used)
    ticket_service.transition(session, ticket, st.RESOLVED, now=now, actor=actor,
                              reason=ticket.resolution_note)
