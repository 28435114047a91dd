"""Service promises (SLA): business calendars, policies with reminders and escalation ladders, each
ticket's clock segments and the steps the scheduler has taken (the exactly-once ledger)."""
from datetime import date, datetime, time
from typing import Optional

from sqlalchemy import (
    JSON, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Time, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.models.mixins import BilingualNameMixin, LocalizedNameMixin, TimestampMixin
from app.timeutil import utcnow


class BusinessCalendar(BilingualNameMixin, TimestampMixin, Model):
    """When the clock runs: weekly working hours, China's statutory holidays and 调休, company days.
    A 24×7 calendar runs all the time."""

    __tablename__ = "business_calendar"
    id: Mapped[int] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai", nullable=False)
    always_open: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    statutory_holidays: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    hours: Mapped[list["CalendarHours"]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan",
        order_by="(CalendarHours.weekday, CalendarHours.starts)")
    days: Mapped[list["CalendarDay"]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="CalendarDay.day")


class CalendarHours(TimestampMixin, Model):
    """A working window on a weekday, local time; `ends` 00:00 means midnight (end of the day)."""

    __tablename__ = "calendar_hours"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_calendar_hours_weekday"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendar.id", ondelete="CASCADE"),
                                             nullable=False, index=True)
    calendar: Mapped[BusinessCalendar] = relationship(back_populates="hours")
    weekday: Mapped[int] = mapped_column(Integer, nullable=False)  # 0 = Monday
    starts: Mapped[time] = mapped_column(Time, nullable=False)
    ends: Mapped[time] = mapped_column(Time, nullable=False)

    def __str__(self) -> str:
        return f"{self.weekday} {self.starts:%H:%M}–{self.ends:%H:%M}"


class CalendarDay(TimestampMixin, Model):
    """A company day off (annual meeting, stocktaking) or an extra working day, overriding the rest."""

    __tablename__ = "calendar_day"
    __table_args__ = (UniqueConstraint("calendar_id", "day", name="uq_calendar_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendar.id", ondelete="CASCADE"), nullable=False)
    calendar: Mapped[BusinessCalendar] = relationship(back_populates="days")
    day: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="holiday")  # holiday | workday
    name: Mapped[Optional[str]] = mapped_column(String(100))

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.name or ''}".strip()


class SlaPolicy(LocalizedNameMixin, TimestampMixin, Model):
    """A service promise. The first active policy (lowest position) whose conditions all hold applies;
    an empty condition matches anything."""

    __tablename__ = "sla_policy"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=100, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    priority_id: Mapped[Optional[int]] = mapped_column(ForeignKey("priority.id"))
    priority = relationship("Priority")
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"))
    category = relationship("Category")
    service_type_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_type.id"))
    service_type = relationship("ServiceType")
    customer_tier: Mapped[Optional[str]] = mapped_column(String(10))
    channel: Mapped[Optional[str]] = mapped_column(String(20))
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendar.id"), nullable=False)
    calendar = relationship("BusinessCalendar")
    # Working minutes; empty = no promise of that kind. Arrival applies to on-site service types only.
    response_minutes: Mapped[Optional[int]] = mapped_column(Integer)
    arrival_minutes: Mapped[Optional[int]] = mapped_column(Integer)
    resolution_minutes: Mapped[Optional[int]] = mapped_column(Integer)
    # "50%, 80%, 30m": points of the promised time, or working time before the deadline ("30m", "2h").
    reminders: Mapped[Optional[str]] = mapped_column(String(100), default="80%")
    escalation_steps: Mapped[list["EscalationStep"]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="EscalationStep.level")


class EscalationStep(TimestampMixin, Model):
    """One rung of a policy's ladder: who is told, how long after the breach, and how often again."""

    __tablename__ = "escalation_step"
    __table_args__ = (
        UniqueConstraint("policy_id", "level", name="uq_escalation_step_level"),
        CheckConstraint("level >= 1", name="ck_escalation_step_level"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policy.id", ondelete="CASCADE"), nullable=False)
    policy: Mapped[SlaPolicy] = relationship(back_populates="escalation_steps")
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    # assignee | team_lead | role | user
    notify: Mapped[str] = mapped_column(String(12), nullable=False, default="team_lead")
    role_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_role.id"))
    role = relationship("Role")
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    user = relationship("User")
    # Wall-clock minutes after the deadline passed; a breach is urgent whatever the calendar says.
    after_minutes: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    repeat_minutes: Mapped[Optional[int]] = mapped_column(Integer)

    def __str__(self) -> str:
        return str(self.level)


class SlaSegment(Model):
    """A stretch of a ticket's life during which its SLA clock ran or stood still, and why."""

    __tablename__ = "sla_segment"
    __table_args__ = (Index("ix_sla_segment_ticket_started", "ticket_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    running: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)  # the ticket status that began it


class SlaCheck(Model):
    """When the scheduler must look at a ticket next: the earliest reminder, escalation or chase still to
    come (a hint that may be early, never late). A narrow row of its own, indexed by time, so that the
    scheduler moving it on does not rewrite the wide, much-indexed ticket row."""

    __tablename__ = "sla_check"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    next_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)


class SlaStep(Model):
    """A reminder, escalation or chase the scheduler carried out. The unique key is what makes each
    step happen once, however many scheduler processes run and however often they restart."""

    __tablename__ = "sla_step"
    __table_args__ = (UniqueConstraint("ticket_id", "kind", "target", "level", "round", name="uq_sla_step"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # remind | escalate | chase
    target: Mapped[str] = mapped_column(String(12), nullable=False)  # response | arrival | resolution | assignment
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    done_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    recipients: Mapped[Optional[list]] = mapped_column(JSON)
