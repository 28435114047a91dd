"""Counting rows only as far as anyone will read: a list's pager, the bell's badge."""
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def count_up_to(session: Session, statement: Select, at_most: int) -> int:
    """The rows `statement` selects, counted no further than `at_most` + 1 — so "more than at_most" can be told
    from "exactly at_most" — without an ORDER BY, so that the database stops at the first rows any index (or
    the table's own order) gives it. Over a million tickets a full count was most of a page's time."""
    limited = statement.order_by(None).limit(at_most + 1).subquery()
    return session.scalar(select(func.count()).select_from(limited)) or 0
