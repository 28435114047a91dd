"""The satisfaction loop: one survey per resolution (the customer's rating), the clerks' follow-up calls
(回访) and the managers' review of low scores. Each is keyed by (ticket, resolution round): a ticket that is
reopened and resolved again is rated, called and reviewed again, but a retry never makes a second row.
"""
from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.timeutil import utcnow


class Survey(Model):
    """满意度评价 for one resolution: sent by the scheduler after a delay, answered once (portal or call)."""

    __tablename__ = "survey"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", name="uq_survey_ticket_round"),
        Index("ix_survey_state_due", "state", "due_at"),  # the scheduler's queue
        Index("ix_survey_rated_at", "rated_at"),  # CSAT over a period
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    ticket = relationship("Ticket")
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    # pending → sent → rated; skipped when the ticket was reopened (or rated) before it was due.
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    resolved_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    score: Mapped[Optional[int]] = mapped_column(Integer)
    comment: Mapped[Optional[str]] = mapped_column(Text)
    rated_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    rated_via: Mapped[Optional[str]] = mapped_column(String(10))  # portal | call
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    def __str__(self) -> str:
        return f"{self.ticket} #{self.round}"


class FollowUp(Model):
    """回访: a clerk calls the customer some days after the ticket closed and records what they said."""

    __tablename__ = "follow_up"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", name="uq_follow_up_ticket_round"),
        Index("ix_follow_up_state_due", "state", "due_at"),  # the clerks' list: open calls by due time
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    ticket = relationship("Ticket")
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="open")  # open | done | cancelled
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    outcome: Mapped[Optional[str]] = mapped_column(String(20))  # the last call's outcome code
    note: Mapped[Optional[str]] = mapped_column(Text)
    last_attempt_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    done_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    done_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    done_by = relationship("User")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    # Two clerks recording the same call: the second is told, not silently overwritten.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    def __str__(self) -> str:
        return f"{self.ticket} #{self.round}"


class LowScoreReview(Model):
    """差评复盘: a low rating or "problem persists" waits here until a manager records its root cause."""

    __tablename__ = "low_score_review"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", "trigger", name="uq_low_score_review"),
        Index("ix_low_score_review_state_created", "state", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    ticket = relationship("Ticket")
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    trigger: Mapped[str] = mapped_column(String(20), nullable=False)  # low_rating | problem_persists
    score: Mapped[Optional[int]] = mapped_column(Integer)
    reason: Mapped[Optional[str]] = mapped_column(Text)  # the customer's words
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("team.id"))
    team = relationship("Team")
    engineer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("engineer.id"))
    engineer = relationship("Engineer")
    state: Mapped[str] = mapped_column(String(10), nullable=False, default="open")  # open | done
    root_cause: Mapped[Optional[str]] = mapped_column(String(20))  # attitude | skill | process | product | other
    review_note: Mapped[Optional[str]] = mapped_column(Text)
    reviewed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    reviewed_by = relationship("User")
    reviewed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    def __str__(self) -> str:
        return f"{self.ticket} #{self.round}"


class SatisfactionSettings(Model):
    """The managers' rules for surveys, follow-up calls and low scores; one row (id 1)."""

    __tablename__ = "satisfaction_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The survey goes out this long after the resolution (the engineer has left, the device ran a while).
    survey_delay_hours: Mapped[int] = mapped_column(Integer, nullable=False, default=2)
    # The follow-up call is due this many days after the ticket closed; 0 turns follow-up calls off.
    follow_up_days: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    # Only tickets the customer did not rate, or every closed ticket.
    follow_up_all: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    follow_up_retry_hours: Mapped[int] = mapped_column(Integer, nullable=False, default=4)
    follow_up_max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=3)
    # Ratings at or below this are low scores: reviewed, and the team lead is told.
    low_score_max: Mapped[int] = mapped_column(Integer, nullable=False, default=2)
    # The customer may reopen a closed ticket from the portal for this many days.
    reopen_days: Mapped[int] = mapped_column(Integer, nullable=False, default=14)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)
