"""Row scoping shared by the console views and the REST API (engineers see only their own tickets)."""
from flask import current_app
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import false

from app.models import Engineer, Ticket
from app.services.roles import sees_all_tickets


def current_user():
    user = current_app.appbuilder.sm.current_user
    return user if user is not None and getattr(user, "is_active", False) else None


class VisibleTicketsFilter(BaseFilter):
    """Back-office roles see every ticket; anyone else only tickets assigned to their engineer record.

    Used as a base filter, so FAB applies it to list, show, edit, delete, export and the API alike.
    """

    name = "visible tickets"
    arg_name = None

    def apply(self, query, value):
        user = current_user()
        if user is None:
            return query.filter(false())
        if sees_all_tickets(user):
            return query
        return query.filter(Ticket.assignee.has(Engineer.user_id == user.id))
