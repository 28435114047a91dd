from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import (
    JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.timeutil import utcnow


class Ticket(Model):
    """A service ticket (工单). Status changes go through app.services.tickets, never direct writes."""

    __tablename__ = "ticket"
    __table_args__ = (
        # A retried intake from the same channel message finds the ticket it already made.
        UniqueConstraint("channel", "external_ref", name="uq_ticket_channel_external_ref"),
        # The queues clerks and the scheduler read: open work by deadline, per team and per engineer.
        Index("ix_ticket_status_resolution_due", "status", "resolution_due_at"),
        Index("ix_ticket_status_response_due", "status", "first_response_due_at"),
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        Index("ix_ticket_team_status", "team_id", "status"),
        # De-duplication looks for a customer's (or a device's) open tickets of the last hours.
        Index("ix_ticket_customer_created", "customer_id", "created_at"),
        Index("ix_ticket_asset_fault", "asset_id", "fault_code"),
        # Dispatch asks who last worked on a device.
        Index("ix_ticket_asset_created", "asset_id", "created_at"),
        # The at-risk board reads open running tickets by their next deadline (NULL when none runs).
        Index("ix_ticket_sla_due", "sla_due_at"),
        Index("ix_ticket_team_sla_due", "team_id", "sla_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    external_ref: Mapped[Optional[str]] = mapped_column(String(200))

    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customer.id"), index=True)
    customer = relationship("Customer")
    # Snapshot of who reported it, as they reported it: the customer record may change later.
    contact_name: Mapped[Optional[str]] = mapped_column(String(100))
    contact_phone: Mapped[Optional[str]] = mapped_column(String(30), index=True)
    contact_email: Mapped[Optional[str]] = mapped_column(String(200))
    contact_address: Mapped[Optional[str]] = mapped_column(String(300))

    asset_id: Mapped[Optional[int]] = mapped_column(ForeignKey("asset.id"), index=True)
    asset = relationship("Asset")
    product_id: Mapped[Optional[int]] = mapped_column(ForeignKey("product.id"), index=True)
    product = relationship("Product")
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"), index=True)
    category = relationship("Category")
    service_type_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_type.id"))
    service_type = relationship("ServiceType")
    priority_id: Mapped[Optional[int]] = mapped_column(ForeignKey("priority.id"))
    priority = relationship("Priority")

    status: Mapped[str] = mapped_column(String(20), nullable=False, default="new")
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[Optional[str]] = mapped_column(Text)

    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"))
    team = relationship("Team")
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("engineer.id"))
    assignee = relationship("Engineer")

    first_response_due_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    resolution_due_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    arrival_due_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    responded_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    arrived_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    resolved_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # SLA bookkeeping, kept by app.services.sla: the policy that applies, the earliest deadline still
    # running and when it becomes at risk (when the scheduler looks next is SlaCheck). Written without
    # bumping `version`, so a clerk's open form is not invalidated by the clock.
    sla_policy_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sla_policy.id"))
    sla_policy = relationship("SlaPolicy")
    sla_due_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    sla_warn_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # When the current engineer was put on it, and how many times one was: unaccepted work is chased per
    # assignment.
    assigned_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    assignment_round: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    # What intake decided, and how sure it was; below the threshold the ticket waits for a clerk.
    warranty_status: Mapped[Optional[str]] = mapped_column(String(10))
    sentiment: Mapped[Optional[float]] = mapped_column(Float)
    confidence: Mapped[Optional[float]] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False, index=True)
    tags: Mapped[Optional[str]] = mapped_column(String(200))
    # Reports merged into this ticket (itself included) and IoT alarm repeats.
    report_count: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    last_reported_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    fault_code: Mapped[Optional[str]] = mapped_column(String(40))
    # How many times it was resolved: each resolution is surveyed, called back and reviewed on its own.
    resolution_round: Mapped[int] = mapped_column(Integer, default=0, nullable=False, server_default="0")
    # What the customer pays for parts (out of warranty), summed when they are consumed on resolution.
    parts_charge: Mapped[Optional[Decimal]] = mapped_column(Numeric(10, 2))
    # The engineer's field work (app.services.field): on the way, where they checked in and how far that
    # was from the customer's address (far ones are flagged for the manager), and how it was fixed.
    departed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    checkin_latitude: Mapped[Optional[float]] = mapped_column(Float)
    checkin_longitude: Mapped[Optional[float]] = mapped_column(Float)
    checkin_distance_m: Mapped[Optional[int]] = mapped_column(Integer)
    checkin_far: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False, server_default="0")
    resolution_code_id: Mapped[Optional[int]] = mapped_column(ForeignKey("resolution_code.id"))
    resolution_code = relationship("ResolutionCode")
    resolution_note: Mapped[Optional[str]] = mapped_column(Text)

    duplicate_of_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id"), index=True)
    duplicate_of = relationship("Ticket", remote_side=[id])

    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)
    # Optimistic locking: every UPDATE carries "WHERE version = <the one read>".
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )

    parts = relationship("TicketPart", back_populates="ticket", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return self.number or ""

    @property
    def sla_state(self) -> str | None:
        """breached / at_risk / on_track for the next running deadline; None when no clock runs."""
        if self.sla_due_at is None:
            return None
        now = utcnow()
        if self.sla_due_at < now:
            return "breached"
        return "at_risk" if self.sla_warn_at is not None and self.sla_warn_at <= now else "on_track"


class TicketEvent(Model):
    """The append-only timeline. actor_user_id NULL means the system decided; `reason` says why."""

    __tablename__ = "ticket_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    ticket: Mapped[Ticket] = relationship(back_populates="events")
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    actor_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    actor = relationship("User")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    data: Mapped[Optional[dict]] = mapped_column(JSON)
    reason: Mapped[Optional[str]] = mapped_column(Text)

    @property
    def description(self) -> str:
        """The event as a sentence in the reader's language."""
        from app.services.timeline import describe

        return describe(self)


class TicketNumberCounter(Model):
    """One row per local day: the last sequence number handed out (SR20261122-000123)."""

    __tablename__ = "ticket_number_counter"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
