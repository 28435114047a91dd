"""Counts for the landing page, scoped like the ticket list."""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Engineer, Ticket
from app.services import status as st
from app.services.roles import ADMIN, CLERK, ENGINEER, MANAGER, sees_all_tickets


def visible_tickets(user):
    """The same scope as app.access.VisibleTicketsFilter, as a SELECT for services."""
    query = select(Ticket)
    if not sees_all_tickets(user):
        query = query.where(Ticket.assignee.has(Engineer.user_id == user.id))
    return query


def open_counts(session: Session, user) -> dict[str, int] | None:
    """{status: count} of open tickets this user can see, or None if they see no tickets at all."""
    roles = {r.name for r in user.roles}
    if not roles & {ADMIN, MANAGER, CLERK, ENGINEER}:
        return None
    scoped = visible_tickets(user).where(Ticket.status.in_(st.OPEN_STATUSES)).subquery()
    rows = session.execute(select(scoped.c.status, func.count()).group_by(scoped.c.status)).all()
    return {status: count for status, count in rows}
