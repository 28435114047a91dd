from typing import Optional
from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.models.mixins import BilingualNameMixin

engineer_skill = Table(
    "engineer_skill",
    Model.metadata,
    Column("engineer_id", ForeignKey("engineer.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skill.id", ondelete="CASCADE"), primary_key=True),
)

engineer_region = Table(
    "engineer_region",
    Model.metadata,
    Column("engineer_id", ForeignKey("engineer.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", ForeignKey("service_region.id", ondelete="CASCADE"), primary_key=True),
)


class Skill(BilingualNameMixin, Model):
    """技能标签: a service type (hardware_repair…) or a product line (water_heater…)."""

    __tablename__ = "skill"
    id: Mapped[int] = mapped_column(primary_key=True)


class Team(BilingualNameMixin, Model):
    """A department or service station (服务网点); its lead receives escalations."""

    __tablename__ = "team"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    lead_user = relationship("User", foreign_keys=[lead_user_id])
    engineers: Mapped[list["Engineer"]] = relationship(back_populates="team")


class Engineer(Model):
    __tablename__ = "engineer"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), unique=True)
    user = relationship("User", foreign_keys=[user_id])
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    phone: Mapped[Optional[str]] = mapped_column(String(30))
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"), index=True)
    team: Mapped[Optional[Team]] = relationship(back_populates="engineers")
    skills: Mapped[list[Skill]] = relationship(secondary=engineer_skill)
    regions = relationship("ServiceRegion", secondary=engineer_region)
    capacity: Mapped[int] = mapped_column(Integer, default=6, nullable=False)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    base_latitude: Mapped[Optional[float]] = mapped_column(Float)
    base_longitude: Mapped[Optional[float]] = mapped_column(Float)
    last_latitude: Mapped[Optional[float]] = mapped_column(Float)
    last_longitude: Mapped[Optional[float]] = mapped_column(Float)
    last_located_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # The warehouse whose stock counts as "in the van's reach" for dispatch.
    warehouse_id: Mapped[Optional[int]] = mapped_column(ForeignKey("warehouse.id"))
    warehouse = relationship("Warehouse")
    # Open tickets, plain and weighted by priority: kept up to date by app.services.load on every change
    # to a ticket's engineer, status or priority, so dispatch never counts tickets.
    open_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    open_load: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    last_assigned_at: Mapped[Optional[datetime]] = mapped_column(DateTime)  # round-robin tie-break
    shifts = relationship("EngineerShift", back_populates="engineer", cascade="all, delete-orphan")
    absences = relationship("EngineerAbsence", back_populates="engineer", cascade="all, delete-orphan")

    def __str__(self) -> str:
        return self.name
