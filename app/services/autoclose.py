"""Closing resolved tickets the customer never confirmed (Zammad/OTRS call it auto-close)."""
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.models import Ticket
from app.services import status as st
from app.services import satisfaction, timeline
from app.timeutil import as_utc

RULE = "auto_close"


def close_unconfirmed(session: Session, *, now: datetime, after_days: int, batch: int = 500) -> int:
    """Close every ticket resolved more than `after_days` ago, one short transaction per batch.

    Safe with two schedulers running: PostgreSQL hands each row to one of them (SKIP LOCKED);
    elsewhere the version column makes the slower one's UPDATE match nothing, and its batch is
    rolled back untouched (the other process closed those tickets). Returns how many it closed.
    """
    now = as_utc(now)
    query = (select(Ticket).where(Ticket.status == st.RESOLVED, Ticket.resolved_at <= now - timedelta(days=after_days))
             .order_by(Ticket.resolved_at).limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    closed = 0
    while True:
        due = session.scalars(query).all()
        for ticket in due:
            ticket.status = st.CLOSED
            ticket.closed_at = ticket.updated_at = now
            satisfaction.on_status(session, ticket, st.RESOLVED, st.CLOSED, now=now)
            timeline.record(session, ticket, "status", now=now,
                            data={"from": st.RESOLVED, "to": st.CLOSED, "rule": RULE, "days": after_days})
        try:
            session.commit()
        except StaleDataError:
            session.rollback()
            return closed
        closed += len(due)
        if len(due) < batch:
            return closed
