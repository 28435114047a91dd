"""Ticket numbers: PREFIX + local date + daily sequence, e.g. SR20261122-000123.

Human-friendly (a customer can read it out on the phone), unique (a unique index backs it) and
sortable (date first, zero-padded sequence). The counter row is bumped with INSERT … ON CONFLICT DO UPDATE
… RETURNING, which takes a row lock on PostgreSQL and the database write lock on SQLite, so concurrent
intakes never receive the same number.
"""
from datetime import date, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import TicketNumberCounter
from app.timeutil import to_local


def format_number(prefix: str, day: date, seq: int) -> str:
    return f"{prefix}{day:%Y%m%d}-{seq:06d}"


def local_day(now: datetime, tz_name: str) -> date:
    return to_local(now, tz_name).date()


def reserve(session: Session, day: date, count: int = 1) -> range:
    """Reserve `count` consecutive sequence numbers for `day`; returns them as a range."""
    if count < 1:
        raise ValueError("count must be positive")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One statement: the day's row is created or incremented, and the row lock serialises concurrent callers.
    statement = insert(TicketNumberCounter).values(day=day, last=count)
    last = session.execute(
        statement.on_conflict_do_update(index_elements=["day"],
                                        set_={"last": TicketNumberCounter.last + count})
        .returning(TicketNumberCounter.last)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return range(last - count + 1, last + 1)


def next_number(session: Session, now: datetime, *, prefix: str, tz_name: str) -> str:
    day = local_day(now, tz_name)
    return format_number(prefix, day, reserve(session, day, 1)[0])
