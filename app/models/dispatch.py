"""Dispatch: when engineers work, the manager's weights, and the parts a ticket needs."""
from datetime import datetime, time
from decimal import Decimal
from typing import Optional

from sqlalchemy import (
    Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, Numeric, String, Time,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.timeutil import utcnow


class EngineerShift(Model):
    """A weekly working window in local time. An engineer without any shift works whenever on duty;
    a shift ending before it starts runs past midnight (22:00–06:00)."""

    __tablename__ = "engineer_shift"
    __table_args__ = (
        Index("ix_engineer_shift_engineer_weekday", "engineer_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_engineer_shift_weekday"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("engineer.id", ondelete="CASCADE"), nullable=False)
    engineer = relationship("Engineer", back_populates="shifts")
    weekday: Mapped[int] = mapped_column(Integer, nullable=False)  # 0 = Monday
    starts: Mapped[time] = mapped_column(Time, nullable=False)
    ends: Mapped[time] = mapped_column(Time, nullable=False)

    def __str__(self) -> str:
        return f"{self.weekday} {self.starts:%H:%M}–{self.ends:%H:%M}"


class EngineerAbsence(Model):
    """Leave, training, sick day: the engineer gets no new work between starts_at and ends_at (UTC)."""

    __tablename__ = "engineer_absence"
    __table_args__ = (
        Index("ix_engineer_absence_engineer_ends", "engineer_id", "ends_at"),
        CheckConstraint("ends_at > starts_at", name="ck_engineer_absence_period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("engineer.id", ondelete="CASCADE"), nullable=False)
    engineer = relationship("Engineer", back_populates="absences")
    starts_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    reason: Mapped[str] = mapped_column(String(100), nullable=False)


class DispatchSettings(Model):
    """The manager's weights for choosing an engineer; one row (id 1)."""

    __tablename__ = "dispatch_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    auto_dispatch: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    weight_load: Mapped[float] = mapped_column(Float, default=0.35, nullable=False)
    weight_distance: Mapped[float] = mapped_column(Float, default=0.30, nullable=False)
    weight_parts: Mapped[float] = mapped_column(Float, default=0.20, nullable=False)
    weight_previous: Mapped[float] = mapped_column(Float, default=0.15, nullable=False)
    # At this distance the distance score is one half; closer is better, never zero.
    distance_half_km: Mapped[float] = mapped_column(Float, default=10.0, nullable=False)
    # A last known position older than this is ignored in favour of the engineer's base.
    location_fresh_hours: Mapped[int] = mapped_column(Integer, default=4, nullable=False)
    candidates_shown: Mapped[int] = mapped_column(Integer, default=3, nullable=False)
    # An assigned engineer who has not accepted is reminded after this many minutes, and the ticket is
    # dispatched to someone else after the second figure (0 = never).
    accept_remind_minutes: Mapped[int] = mapped_column(Integer, default=15, nullable=False)
    accept_redispatch_minutes: Mapped[int] = mapped_column(Integer, default=30, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)


class TicketPart(Model):
    """A spare part the ticket needs, and where it stands (app.services.inventory):
    needed → reserved (in `warehouse`) | waiting (a transfer or purchase request is open) → consumed on
    resolution (unused ones returned) | released (dropped, or the ticket cancelled)."""

    __tablename__ = "ticket_part"
    id: Mapped[int] = mapped_column(primary_key=True)
    # One row per need: a part used on one resolution stays on its row when a reopened ticket needs it again.
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    ticket = relationship("Ticket", back_populates="parts")
    part_id: Mapped[int] = mapped_column(ForeignKey("spare_part.id"), nullable=False, index=True)
    part = relationship("SparePart")
    quantity: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    state: Mapped[str] = mapped_column(String(10), default="needed", nullable=False, server_default="needed")
    # Where the quantity is reserved (on a transfer: the warehouse it comes from, until it arrives).
    warehouse_id: Mapped[Optional[int]] = mapped_column(ForeignKey("warehouse.id"))
    warehouse = relationship("Warehouse")
    used: Mapped[Optional[int]] = mapped_column(Integer)
    # Warranty decides: free in warranty, the part's price otherwise (app.services.inventory.consume).
    billable: Mapped[Optional[bool]] = mapped_column(Boolean)
    unit_price: Mapped[Optional[Decimal]] = mapped_column(Numeric(10, 2))
    charge: Mapped[Optional[Decimal]] = mapped_column(Numeric(10, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    # Two people changing the same part at once (a removal racing the resolution): the second is refused
    # and its stock changes rolled back with it.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return f"{self.part} × {self.quantity}"

