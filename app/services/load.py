"""Each engineer's open tickets, counted and weighted by priority, kept on the engineer's row.

Dispatch reads the figures instead of counting tickets. They are recounted — for the engineers concerned
only, through the (assignee_id, status) index — in the same flush as any change to a ticket's engineer,
status or priority, whichever code path made it (services, console forms, REST). A change to a priority's
weight recounts everyone.
"""
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.models import Engineer, Priority, Ticket
from app.services import status as st

_WATCHED = ("assignee_id", "status", "priority_id")


def _open_tickets_of(engineer_column):
    return (Ticket.assignee_id == engineer_column) & Ticket.status.in_(sorted(st.OPEN_STATUSES))


def recount(session: Session, engineer_ids=None) -> None:
    """Recount the given engineers (all when None) in one statement."""
    count = select(func.count(Ticket.id)).where(_open_tickets_of(Engineer.id)).scalar_subquery()
    load = (select(func.coalesce(func.sum(func.coalesce(Priority.load_weight, 1.0)), 0.0))
            .select_from(Ticket).outerjoin(Priority, Priority.id == Ticket.priority_id)
            .where(_open_tickets_of(Engineer.id)).scalar_subquery())
    statement = update(Engineer).values(open_count=count, open_load=load)
    if engineer_ids is not None:
        statement = statement.where(Engineer.id.in_(sorted(engineer_ids)))
    session.execute(statement.execution_options(synchronize_session=False))
    if engineer_ids is None:
        loaded = [obj for obj in session.identity_map.values() if isinstance(obj, Engineer)]
    else:
        loaded = [session.identity_map.get(identity_key(Engineer, engineer_id)) for engineer_id in engineer_ids]
    for obj in loaded:
        if obj is not None:
            session.expire(obj, ["open_count", "open_load"])


def _engineers_touched(session: Session) -> tuple[set[int], bool]:
    ids: set[int] = set()
    everyone = False
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Ticket):
            state = inspect(obj)
            if obj in session.new or obj in session.deleted or any(
                    state.attrs[name].history.has_changes() for name in _WATCHED):
                history = state.attrs.assignee_id.history
                ids.update(v for v in (*history.added, *history.deleted, *history.unchanged) if v)
                if obj.assignee_id:
                    ids.add(obj.assignee_id)
        elif isinstance(obj, Priority) and inspect(obj).attrs.load_weight.history.has_changes():
            everyone = True
    return ids, everyone


@event.listens_for(Session, "after_flush")
def _recount_after_flush(session, flush_context):
    ids, everyone = _engineers_touched(session)
    if everyone:
        recount(session)
    elif ids:
        recount(session, ids)
