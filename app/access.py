"""Row scoping shared by the console views and the REST API (engineers see only their own tickets)."""
from flask import current_app
from flask_appbuilder.models.filters import BaseFilter

from app.services.visibility import pool_scope, ticket_scope


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
        condition = ticket_scope(current_user())
        return query if condition is None else query.filter(condition)


class PoolTicketsFilter(BaseFilter):
    """The pool as this user may see it (see app.services.visibility.pool_scope)."""

    name = "pool tickets"
    arg_name = None

    def apply(self, query, value):
        return query.filter(pool_scope(current_user()))

