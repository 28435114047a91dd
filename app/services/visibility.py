"""Which tickets a user may see: the one rule behind the console, the API and the home page counts."""
from sqlalchemy import and_, false, or_, select

from app.models import Engineer, Ticket
from app.services import status as st
from app.services.roles import sees_all_tickets


def ticket_scope(user):
    """None when the user sees every ticket; otherwise the SQL condition that narrows to their own."""
    if user is None:
        return false()
    if sees_all_tickets(user):
        return None
    return Ticket.assignee.has(Engineer.user_id == user.id)


def pool_scope(user):
    """工单池: open tickets nobody has. Back-office roles see all of them; an engineer those of their own
    team and those of no team."""
    if user is None:
        return false()
    pool = and_(Ticket.assignee_id.is_(None), Ticket.status.in_(sorted(st.OPEN_STATUSES)))
    if sees_all_tickets(user):
        return pool
    team = select(Engineer.team_id).where(Engineer.user_id == user.id).scalar_subquery()
    return and_(pool, or_(Ticket.team_id == team, Ticket.team_id.is_(None)))


def engineer_of(session, user) -> Engineer | None:
    return session.scalar(select(Engineer).where(Engineer.user_id == user.id)) if user is not None else None
