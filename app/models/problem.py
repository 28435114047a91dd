"""Problem records (问题单): one underlying cause behind many tickets, worked on by managers and engineering."""
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder import Model

from app.timeutil import utcnow


class Problem(Model):
    __tablename__ = "problem"
    __table_args__ = (Index("ix_problem_state", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    product_id: Mapped[Optional[int]] = mapped_column(ForeignKey("product.id", name="fk_problem_product"))
    product = relationship("Product")
    # The words the recurring-problem cluster was found by (app.services.recurring), space-separated.
    keywords: Mapped[Optional[str]] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    root_cause: Mapped[Optional[str]] = mapped_column(Text)
    workaround: Mapped[Optional[str]] = mapped_column(Text)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", name="fk_problem_created_by"))
    created_by = relationship("User", foreign_keys=[created_by_id])
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, nullable=False)
    resolved_at: Mapped[Optional[datetime]] = mapped_column(DateTime)

    links = relationship("ProblemTicket", back_populates="problem", cascade="all, delete-orphan",
                         order_by="ProblemTicket.ticket_id.desc()")

    @property
    def reference(self) -> str:
        return f"P-{self.id:05d}" if self.id else ""

    def __str__(self) -> str:
        return f"{self.reference} {self.title}" if self.id else self.title or ""


class ProblemTicket(Model):
    """A ticket counted under a problem. A ticket belongs to one problem at most (the key is the ticket), so
    linking a cluster twice, or two managers linking at once, never counts a ticket twice."""

    __tablename__ = "problem_ticket"
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE", name="fk_problem_ticket_ticket"), primary_key=True)
    ticket = relationship("Ticket")
    problem_id: Mapped[int] = mapped_column(
        ForeignKey("problem.id", ondelete="CASCADE", name="fk_problem_ticket_problem"), nullable=False, index=True)
    problem = relationship("Problem", back_populates="links")
    linked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    linked_by_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("ab_user.id", name="fk_problem_ticket_linked_by"))
