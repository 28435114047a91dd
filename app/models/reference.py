"""Classification vocabularies: codes are stable (APIs and rules use them), names are editable."""
from sqlalchemy import Boolean, Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from flask_appbuilder import Model

from app.models.mixins import ReferenceMixin


class Category(ReferenceMixin, Model):
    """问题分类: fault, inquiry, parts, complaint, installation."""

    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True)


class ServiceType(ReferenceMixin, Model):
    """服务类别: installation, hardware_repair, software_guidance."""

    __tablename__ = "service_type"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Done at the customer's place: dispatch then requires region coverage and weighs distance.
    on_site: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


class Priority(ReferenceMixin, Model):
    """urgent/high/medium/low; a lower rank is more urgent."""

    __tablename__ = "priority"
    id: Mapped[int] = mapped_column(primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    # How much one open ticket of this priority weighs in an engineer's load.
    load_weight: Mapped[float] = mapped_column(Float, default=1.0, nullable=False)
    # Tickets of this priority may be given to an engineer this many tickets past their capacity.
    capacity_overflow: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class ResolutionCode(ReferenceMixin, Model):
    """解决方式: how a ticket was fixed (replaced a part, repaired, guided the customer, no fault found…)."""

    __tablename__ = "resolution_code"
    id: Mapped[int] = mapped_column(primary_key=True)
