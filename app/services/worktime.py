"""Hands-on work time (处理中时长): the stretches a ticket spends in progress with its engineer, kept in
`work_stretch` for the engineers' utilisation on the dashboards.

A stretch opens when a ticket enters 处理中 (the engineer checks in on site, or starts remote work) and closes
when it leaves it (resolved, waiting for parts or the customer, handed to someone else, cancelled). It is
written in the same flush as the status change's timeline event, whichever code path made it (services,
console forms, REST), so it never drifts from the timeline; migration 0012 derived the history from it once.
"""
from datetime import datetime

from sqlalchemy import and_, case, event, func, inspect, select, union_all, update
from sqlalchemy.orm import Session

from app.models import Ticket, TicketEvent
from app.models.analytics import WorkStretch
from app.services import status as st
from app.services.sqltime import greatest, hours_between, least


def _engineer_before_flush(ticket: Ticket) -> int | None:
    history = inspect(ticket).attrs.assignee_id.history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else ticket.assignee_id


@event.listens_for(Session, "after_flush")
def _keep_stretches(session, flush_context):
    """Follows the timeline's status and assignment events of this flush in order, rather than the ticket's
    status before and after it: several changes can share one flush (accept, start, resolve in one request),
    and each move into or out of 处理中 counts."""
    events = sorted((e for e in session.new if isinstance(e, TicketEvent) and e.kind in ("status", "assigned")),
                    key=lambda e: (e.ticket_id, e.created_at, e.id))
    if not any(e.kind == "status" and st.IN_PROGRESS in ((e.data or {}).get("from"), (e.data or {}).get("to"))
               for e in events):
        return
    table = WorkStretch.__table__
    connection = session.connection()
    engineer: dict[int, int | None] = {}
    for item in events:
        data = item.data or {}
        if item.kind == "assigned":
            engineer[item.ticket_id] = data.get("engineer_id")
            continue
        if data.get("from") == st.IN_PROGRESS:
            for stretch_id, started_at in connection.execute(
                    select(table.c.id, table.c.started_at)
                    .where(table.c.ticket_id == item.ticket_id, table.c.ended_at.is_(None))).all():
                seconds = max(0, round((item.created_at - started_at).total_seconds()))
                connection.execute(update(table).where(table.c.id == stretch_id)
                                   .values(ended_at=item.created_at, seconds=seconds))
        if data.get("to") == st.IN_PROGRESS:
            if item.ticket_id not in engineer:
                engineer[item.ticket_id] = _engineer_before_flush(item.ticket)
            connection.execute(table.insert().values(ticket_id=item.ticket_id, engineer_id=engineer[item.ticket_id],
                                                     started_at=item.created_at, ended_at=None))


def hands_on(session: Session, start: datetime, until: datetime, engineer_ids=None) -> dict[int, tuple[float, int]]:
    """{engineer id: (seconds of their stretches inside [start, until), tickets they belong to)}; a stretch still
    going counts until `until`.

    Stretches that ended inside the period and those still open are two range scans of the (ended_at,
    engineer_id, started_at, ticket_id, seconds) index alone (for one OR PostgreSQL visits the table rows); a
    stretch wholly inside the period adds its stored length, so date arithmetic — slow on SQLite — is left to
    the few that cross the period's edges or are still going."""
    stretch = WorkStretch
    parts = []
    for ended in (stretch.ended_at > start, stretch.ended_at.is_(None)):
        part = select(stretch.engineer_id, stretch.ticket_id, stretch.started_at, stretch.ended_at, stretch.seconds) \
            .where(ended, stretch.started_at < until, stretch.engineer_id.isnot(None))
        if engineer_ids is not None:
            part = part.where(stretch.engineer_id.in_(list(engineer_ids)))
        parts.append(part)
    rows = union_all(*parts).subquery()
    inside = and_(rows.c.started_at >= start, rows.c.ended_at <= until, rows.c.seconds.isnot(None))
    clipped = hours_between(session, greatest(session, rows.c.started_at, start),
                            least(session, func.coalesce(rows.c.ended_at, until), until)) * 3600
    seconds = case((inside, rows.c.seconds), else_=clipped)
    query = select(rows.c.engineer_id, func.sum(seconds), func.count(rows.c.ticket_id.distinct())) \
        .group_by(rows.c.engineer_id)
    return {engineer_id: (max(0.0, float(total or 0.0)), tickets)
            for engineer_id, total, tickets in session.execute(query)}
