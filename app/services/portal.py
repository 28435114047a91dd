"""What the customer portal needs from the domain: proving a customer owns a ticket, the ticket in plain
words (status, steps, the customer-facing part of the timeline), and checking uploaded photos.

Ownership is proven by the ticket number plus the phone number or e-mail address the request was made with
(or the customer's on record), or by a signed link (app.services.tracking). A wrong combination and a
missing ticket take the same query and the same comparisons, so neither the answer nor its time tells them
apart.
"""
import hmac
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Customer, Ticket, TicketEvent
from app.services import satisfaction_text, settings
from app.services import status as st
from app.services.contacts import normalize_email, normalize_phone
from app.services.errors import ServiceError
from app.services.intake import Attachment
from app.timeutil import to_local

# --------------------------------------------------------------- ownership

_NOBODY = "\x00" * 16  # compared against when there is no ticket: never equal to a normalised contact


def normalize_number(number: str | None) -> str:
    return "".join((number or "").split()).upper()[:32]


def normalize_contact(value: str | None) -> str | None:
    value = (value or "").strip()
    if "@" in value:
        return normalize_email(value)
    return normalize_phone(value)


def find_owned(session: Session, number: str | None, contact: str | None) -> int | None:
    """The id of ticket `number` when `contact` is its phone or e-mail, else None (whatever the reason)."""
    given = normalize_contact(contact)
    if not given:
        return None
    row = session.execute(
        select(Ticket.id, Ticket.contact_phone, Ticket.contact_email, Customer.phone, Customer.email)
        .outerjoin(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.number == normalize_number(number))).first()
    known = row[1:] if row is not None else (None, None, None, None)
    match = False
    for value in known:  # every one compared, in constant time, found or not
        match |= hmac.compare_digest((value or _NOBODY).lower().encode(), given.lower().encode())
    return row[0] if row is not None and match else None


# --------------------------------------------------------------- the ticket in the customer's words

PUBLIC_STATUS = {
    st.NEW: _l("Received, arranging service"),
    st.ASSIGNED: _l("Engineer assigned"),
    st.ACCEPTED: _l("Engineer assigned"),
    st.IN_PROGRESS: _l("Being handled"),
    st.WAITING_CUSTOMER: _l("Waiting for your reply"),
    st.WAITING_PARTS: _l("Waiting for spare parts"),
    st.RESOLVED: _l("Resolved, please confirm"),
    st.CLOSED: _l("Completed"),
    st.REOPENED: _l("Reopened, being handled again"),
    st.CANCELLED: _l("Cancelled"),
}
STEPS = (_l("Received"), _l("Engineer assigned"), _l("Being handled"), _l("Resolved"), _l("Completed"))
_STEP_OF = {st.NEW: 0, st.ASSIGNED: 1, st.ACCEPTED: 1, st.IN_PROGRESS: 2, st.WAITING_CUSTOMER: 2,
            st.WAITING_PARTS: 2, st.REOPENED: 2, st.RESOLVED: 3, st.CLOSED: len(STEPS)}
# What the customer is told they can do next, when it is up to them.
HINTS = {
    st.WAITING_CUSTOMER: _l("We need more information from you: please add it below."),
    st.RESOLVED: _l("Please confirm that the problem is solved, or tell us if it persists."),
}


@dataclass
class PublicEvent:
    at: str
    text: str
    detail: str | None = None  # the customer's own words, shown back to them


def _public_text(event: TicketEvent) -> tuple[str | None, str | None]:
    """(sentence, customer's words) for an event the customer may see; (None, None) for internal ones."""
    data, kind = event.data or {}, event.kind
    if kind == "created":
        return _("We received your request"), None
    if kind == "assigned" and data.get("engineer"):
        return _("Engineer %(name)s will take care of it", name=data["engineer"]), None
    if kind == "claimed" and data.get("engineer"):
        return _("Engineer %(name)s will take care of it", name=data["engineer"]), None
    if kind == "status":
        to = data.get("to")
        if to == st.REOPENED:
            return _("Reopened: we are working on it again"), event.reason if event.actor_user_id is None else None
        if to in (st.ASSIGNED, st.NEW, st.ACCEPTED):
            return None, None  # said by the assignment itself, or internal back-and-forth
        if to == st.RESOLVED:
            return _("Resolved"), None
        return str(PUBLIC_STATUS.get(to, to)), None
    if kind == "departed":
        return _("Engineer %(name)s is on the way", name=data.get("engineer")), None
    if kind == "checked_in":
        return _("The engineer has arrived"), None
    if kind == "customer_reply":
        return _("You added information"), event.reason
    if kind == "merged_into":  # the other request may be someone else's: not named
        return _("Handled together with an earlier request for the same problem"), None
    if kind == "customer_confirmed":
        return _("You confirmed the problem is solved"), None
    if kind == "rated":  # a comment is shown back only when the customer wrote it (not a clerk's call note)
        return (_("You rated the service %(stars)s", stars=satisfaction_text.stars(data.get("score"))),
                event.reason if data.get("via") == "portal" else None)
    return None, None


def public_timeline(ticket: Ticket, tz_name: str) -> list[PublicEvent]:
    out = []
    for event in ticket.events:
        text, detail = _public_text(event)
        if text:
            out.append(PublicEvent(to_local(event.created_at, tz_name).strftime("%Y-%m-%d %H:%M"), text, detail))
    return list(reversed(out))  # newest first: what happened last is what the customer came to see


@dataclass
class PublicTicket:
    number: str
    subject: str
    status: str
    status_label: str
    step: int  # index into STEPS, -1 when cancelled
    hint: str | None
    engineer: str | None
    engineer_phone: str | None
    expected_label: str | None
    expected_at: str | None
    created_at: str
    timeline: list[PublicEvent]


def describe(ticket: Ticket, *, now: datetime) -> PublicTicket:
    tz = settings.current().timezone
    engineer = ticket.assignee if ticket.status in st.OPEN_STATUSES or ticket.status == st.RESOLVED else None
    expected_label = expected_at = None
    if ticket.status in st.OPEN_STATUSES:
        if ticket.arrived_at is None and ticket.arrival_due_at is not None:
            expected_label, expected_at = _("Engineer expected by"), ticket.arrival_due_at
        elif ticket.resolution_due_at is not None:
            expected_label, expected_at = _("Expected to be resolved by"), ticket.resolution_due_at
    return PublicTicket(
        number=ticket.number, subject=ticket.subject, status=ticket.status,
        status_label=str(PUBLIC_STATUS.get(ticket.status, ticket.status)), step=_STEP_OF.get(ticket.status, -1),
        hint=str(HINTS[ticket.status]) if ticket.status in HINTS else None,
        engineer=engineer.name if engineer else None, engineer_phone=engineer.phone if engineer else None,
        expected_label=expected_label,
        expected_at=to_local(expected_at, tz).strftime("%Y-%m-%d %H:%M") if expected_at else None,
        created_at=to_local(ticket.created_at, tz).strftime("%Y-%m-%d %H:%M"),
        timeline=public_timeline(ticket, tz),
    )


# --------------------------------------------------------------- photos

# What browsers and phones produce; recognised by their first bytes, not by the name or the claimed type.
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(content: bytes) -> str | None:
    for magic, mime in _SIGNATURES:
        if content.startswith(magic):
            return mime
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[4:8] == b"ftyp" and content[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "image/heic"  # iPhone photos
    return None


def size_label(kb: int) -> str:
    """A size limit as a customer reads it: 8 MB, 1.5 MB, 500 KB (not 0.5 MB, nor 0.0 MB for 1 KB)."""
    if kb < 1024:
        return f"{kb} KB"
    return f"{round(kb / 1024, 1):g} MB"


def check_photos(files: list[tuple[str, bytes]], *, max_count: int, max_kb: int) -> list[Attachment]:
    """The uploaded photos as intake attachments; a ServiceError naming the photo that is refused."""
    files = [(name, content) for name, content in files if name or content]
    if len(files) > max_count:
        raise ServiceError(_l("At most %(count)s photos, please.", count=max_count), field="photos")
    out = []
    for name, content in files:
        mime = image_type(content)
        if mime is None:
            raise ServiceError(_l("%(name)s is not a photo (JPEG, PNG, GIF, WebP or HEIC).", name=name),
                               field="photos")
        if len(content) > max_kb * 1024:
            raise ServiceError(_l("%(name)s is larger than %(limit)s.", name=name, limit=size_label(max_kb)),
                               field="photos")
        out.append(Attachment(filename=name, content=content, content_type=mime))
    return out
