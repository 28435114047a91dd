"""Counts for the landing page, scoped like the ticket list."""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Ticket
from app.services import status as st
from app.services.roles import ADMIN, CLERK, ENGINEER, MANAGER
from app.services.visibility import ticket_scope


def open_counts(session: Session, user) -> dict[str, int] | None:
    """{status: count} of open tickets this user can see, or None if they see no tickets at all."""
    roles = {r.name for r in user.roles}
    if not roles & {ADMIN, MANAGER, CLERK, ENGINEER}:
        return None
    query = select(Ticket).where(Ticket.status.in_(st.OPEN_STATUSES))
    condition = ticket_scope(user)
    if condition is not None:
        query = query.where(condition)
    scoped = query.subquery()
    rows = session.execute(select(scoped.c.status, func.count()).group_by(scoped.c.status)).all()
    return {status: count for status, count in rows}
