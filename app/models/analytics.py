"""What the dashboards (报表) need beyond the tickets themselves: the stretches of hands-on work each engineer
spent on a ticket (engineer utilisation), and the indexes the dashboard aggregates read.

The ticket columns the dashboards group by are read through covering indexes, so that a month of tickets is
an index range scan with no visit to the wide ticket row (see bench/dashboard.py for the measurements).
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from flask_appbuilder import Model

from app.models.ticket import Ticket


class WorkStretch(Model):
    """A stretch of time a ticket spent in 处理中 (in progress) with an engineer on it: from the check-in (or the
    start of remote work) to the resolution or a pause for parts or the customer. Written by
    app.services.worktime in the same flush as the status change; `ended_at` is empty while work goes on."""

    __tablename__ = "work_stretch"
    __table_args__ = (
        # Utilisation over a period: the stretches that end after it starts (or have not ended), read from the
        # index alone.
        Index("ix_work_stretch_ended", "ended_at", "engineer_id", "started_at", "ticket_id", "seconds"),
        # Closing the ticket's open stretch on its next status change.
        Index("ix_work_stretch_ticket_ended", "ticket_id", "ended_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE", name="fk_work_stretch_ticket"),
                                           nullable=False)
    engineer_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("engineer.id", ondelete="SET NULL", name="fk_work_stretch_engineer"))
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # Its length once it ended: a period's total is then a sum, with date arithmetic only for the stretches
    # that cross the period's edges or are still going.
    seconds: Mapped[Optional[int]] = mapped_column(Integer)


# Covering indexes for the dashboard's two cohorts: tickets created in the period (volume, SLA compliance)
# and tickets resolved in it (first-time fix, time to resolve). Leading with the time column makes a
# period a range scan; every other column a chart groups or tests by is in the index, so the wide ticket
# row is never read.
Index("ix_ticket_dash_created", Ticket.created_at, Ticket.team_id, Ticket.priority_id, Ticket.status,
      Ticket.channel, Ticket.category_id, Ticket.product_id, Ticket.first_response_due_at, Ticket.responded_at,
      Ticket.resolution_due_at, Ticket.resolved_at)
Index("ix_ticket_dash_resolved", Ticket.resolved_at, Ticket.team_id, Ticket.priority_id, Ticket.resolution_round,
      Ticket.created_at)
