"""Shared set-up for the portal and satisfaction tests: a ticket that belongs to a known customer, moved
along its life the way staff would, and the portal's link to it."""
import re
import struct
import zlib

from sqlalchemy import select

from app.models import Notification, Priority, Ticket
from app.services import satisfaction, status as st, tickets, tracking
from tests.helpers import NOW, engineer_of, user


def png(width=2, height=2) -> bytes:
    """A real PNG image (what a phone's camera roll gives, only smaller)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def customer_ticket(session, phone="13911112222", now=NOW, **fields) -> Ticket:
    """A phoned-in ticket of a customer with this phone number, assigned to the demo engineer."""
    fields.setdefault("priority", session.scalar(select(Priority).where(Priority.code == "high")))
    ticket, _created = tickets.create_ticket(
        session, channel="phone", subject=fields.pop("subject", "洗衣机不排水"), description="客户来电：洗衣机不排水",
        now=now, actor=user(session, "clerk"), contact_name="王芳", contact_phone=phone, **fields)
    tickets.assign(session, ticket, engineer_of(session), now=now, actor=user(session, "clerk"))
    session.commit()
    return ticket


def work_and_resolve(session, ticket, now=NOW) -> Ticket:
    """The engineer accepts, works and resolves (again, after a reopen)."""
    engineer = user(session, "engineer")
    if ticket.status == st.REOPENED:
        tickets.transition(session, ticket, st.IN_PROGRESS, now=now, actor=engineer)
    else:
        if ticket.status == st.ASSIGNED:
            tickets.transition(session, ticket, st.ACCEPTED, now=now, actor=engineer)
        tickets.transition(session, ticket, st.IN_PROGRESS, now=now, actor=engineer)
    tickets.transition(session, ticket, st.RESOLVED, now=now, actor=engineer)
    session.commit()
    return ticket


def link(app, ticket) -> str:
    return "/portal/t/" + tracking.sign(ticket.id, app.config["SECRET_KEY"])


def text_of(html: str) -> str:
    """The words of a page, as a reader sees them."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def staff_messages(session, ticket, event) -> list[Notification]:
    return list(session.scalars(select(Notification).where(
        Notification.ticket_id == ticket.id, Notification.event == event, Notification.user_id.is_not(None),
        Notification.channel == "inapp")))


def survey_of(session, ticket):
    session.expire_all()
    return satisfaction.current_survey(session, session.get(Ticket, ticket.id))
