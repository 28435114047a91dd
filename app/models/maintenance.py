"""Preventive maintenance (定期保养): a plan per product (a filter every 180 days…) and the tickets it made, one
per asset and due date."""
from datetime import date, datetime
from typing import Optional

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.models.mixins import BilingualNameMixin
from app.timeutil import utcnow


class MaintenancePlan(BilingualNameMixin, Model):
    __tablename__ = "maintenance_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), nullable=False, index=True)
    product = relationship("Product")
    # Due every this many days, counted from the device's installation, then from the last due date.
    interval_days: Mapped[int] = mapped_column(Integer, nullable=False, default=180)
    # The ticket is made this many days before the due date, so a visit can be booked.
    lead_days: Mapped[int] = mapped_column(Integer, nullable=False, default=7)
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"))
    category = relationship("Category")
    service_type_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_type.id"))
    service_type = relationship("ServiceType")
    priority_id: Mapped[Optional[int]] = mapped_column(ForeignKey("priority.id"))
    priority = relationship("Priority")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)


class MaintenanceRun(Model):
    """The ticket a plan made for one asset's due date. The unique key is what makes the scheduler's job safe to
    run twice, or in two processes at once: a due date gets one ticket."""

    __tablename__ = "maintenance_run"
    __table_args__ = (UniqueConstraint("plan_id", "asset_id", "due_date", name="uq_maintenance_run"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("maintenance_plan.id", ondelete="CASCADE"), nullable=False)
    plan = relationship("MaintenancePlan")
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), nullable=False, index=True)
    asset = relationship("Asset")
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
    ticket = relationship("Ticket")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
