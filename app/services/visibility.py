"""Which tickets a user may see: the one rule behind the console, the API and the home page counts."""
from sqlalchemy import false

from app.models import Engineer, Ticket
from app.services.roles import sees_all_tickets


def ticket_scope(user):
    """None when the user sees every ticket; otherwise the SQL condition that narrows to their own."""
    if user is None:
        return false()
    if sees_all_tickets(user):
        return None
    return Ticket.assignee.has(Engineer.user_id == user.id)
